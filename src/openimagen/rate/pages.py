"""The HTML of the rating app (Jinja2 templates, plain HTML forms that work without JavaScript; a few lines of
JavaScript add the keyboard shortcuts)."""

STYLE = """
body { font-family: sans-serif; margin: 1.2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.3em; } .caption { font-size: 1.4em; margin: .6em 0; padding: .4em .6em; background: #f3f3f3; }
.sets { display: flex; gap: 2em; justify-content: center; } .set h2 { font-size: 1em; text-align: center; }
.grid { display: grid; grid-template-columns: repeat(4, 1fr); gap: 4px; }
.grid img { width: 112px; height: 112px; image-rendering: pixelated; border: 1px solid #ccc; }
fieldset { border: 1px solid #ccc; margin: .8em 0; } legend { font-weight: bold; }
label { margin-right: 1.5em; cursor: pointer; } kbd { border: 1px solid #999; border-radius: 3px; padding: 0 4px; }
.problem { color: #a00; } .note { color: #666; font-size: .9em; } .saved { color: #080; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
button { font-size: 1.1em; padding: .3em 1.5em; }
"""

BASE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>""" + STYLE + """</style></head><body>{% block body %}{% endblock %}</body></html>"""

INDEX = BASE.replace("{% block body %}{% endblock %}", """
<h1>Side-by-side rating</h1>
<p>For each caption you will see two sets of {{ per_set }} images. Answer two questions for each: which set is of
higher quality, and which set better represents the caption. The sets are shown in random order.</p>
<form method="get" action="/rate"><label>Your name <input name="rater" id="rater" required maxlength="40"
autofocus></label> <button type="submit" id="start">Start or resume</button></form>
<p class="note">Use the same name to resume where you left off. <a href="/results">Results</a></p>""")

RATE = BASE.replace("{% block body %}{% endblock %}", """
<p class="note">Rater <b id="rater-name">{{ rater }}</b> &middot; prompt {{ done + 1 }} of {{ total }}
{% if saved %}&middot; <span class="saved" id="saved">saved</span>{% endif %}</p>
<div class="caption" id="caption">{{ prompt.prompt }}</div>
{% for problem in problems %}<p class="problem">{{ problem }}</p>{% endfor %}
<div class="sets">{% for side in ("left", "right") %}<div class="set"><h2>{{ side|capitalize }} set</h2>
<div class="grid">{% for k in range(counts[side]) %}<img id="{{ side }}-{{ k }}" alt="{{ side }} set, image {{ k + 1 }}"
src="/img/{{ side }}/{{ prompt.index }}/{{ k }}?rater={{ rater|urlencode }}">{% endfor %}</div></div>{% endfor %}
</div>
<form method="post" action="/vote" id="vote">
<input type="hidden" name="rater" value="{{ rater }}"><input type="hidden" name="prompt" value="{{ prompt.index }}">
{% for name, text, keys in questions %}<fieldset><legend>{{ text }}</legend>
{% for value, label, key in (("left", "Left set", keys[0]), ("same", "Indifferent", keys[1]),
                             ("right", "Right set", keys[2])) %}
<label><input type="radio" name="{{ name }}" value="{{ value }}" id="{{ name }}-{{ value }}" data-key="{{ key }}"
required> {{ label }} <kbd>{{ key|upper }}</kbd></label>{% endfor %}</fieldset>{% endfor %}
<button type="submit" id="submit">Submit <kbd>Enter</kbd></button>
</form>
<p class="note"><a href="/results">Results</a></p>
<script>
document.addEventListener("keydown", function (event) {
  if (event.ctrlKey || event.altKey || event.metaKey) return;
  var radio = document.querySelector('input[data-key="' + event.key.toLowerCase() + '"]');
  if (radio) { radio.checked = true; event.preventDefault(); return; }
  if (event.key === "Enter") { event.preventDefault(); document.getElementById("vote").requestSubmit(); }
});
</script>""")

DONE = BASE.replace("{% block body %}{% endblock %}", """
<h1 id="done">All {{ total }} prompts rated. Thank you, {{ rater }}!</h1>
<p><a href="/results">Results</a></p>""")

RESULTS = BASE.replace("{% block body %}{% endblock %}", """
<h1>Preference of run A over run B</h1>
<p class="note">A = {{ run_a }}<br>B = {{ run_b }}</p>
<p>{{ votes }} answers from {{ raters }} rater(s). Rates with 95% Wilson confidence intervals.
<a href="results.csv" id="csv">CSV</a> &middot; <a href="votes.csv">all votes (CSV)</a></p>
{{ chart|safe }}
<table id="table"><tr><th>question</th><th>category</th><th>votes</th><th>prefer A</th><th>indifferent</th>
<th>prefer B</th></tr>{% for r in rows %}<tr><td>{{ r.question }}</td><td>{{ r.category }}</td><td>{{ r.votes }}</td>
<td>{{ "%.1f"|format(100 * r.A_rate) }}% [{{ "%.1f"|format(100 * r.A_low) }}, {{ "%.1f"|format(100 * r.A_high) }}]</td>
<td>{{ "%.1f"|format(100 * r.indifferent_rate) }}%</td>
<td>{{ "%.1f"|format(100 * r.B_rate) }}% [{{ "%.1f"|format(100 * r.B_low) }}, {{ "%.1f"|format(100 * r.B_high) }}]</td>
</tr>{% endfor %}</table>""")

ERROR = BASE.replace("{% block body %}{% endblock %}", """
<h1>{{ title }}</h1><p class="problem" id="error">{{ message }}</p><p><a href="/">Back</a></p>""")

PLACEHOLDER_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="112" height="112" viewBox="0 0 112 112">
<rect width="112" height="112" fill="#fde8e8" stroke="#a00"/><text x="56" y="52" text-anchor="middle"
font-family="sans-serif" font-size="12" fill="#a00">image</text><text x="56" y="68" text-anchor="middle"
font-family="sans-serif" font-size="12" fill="#a00">{reason}</text></svg>"""
