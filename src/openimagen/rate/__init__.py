"""Side-by-side human rating of two DrawBench-style runs (Imagen Sec. 4.3): a local web app, its SQLite store of
votes, the preference report with 95% confidence intervals, and an automatic rater for shapes-world runs."""
