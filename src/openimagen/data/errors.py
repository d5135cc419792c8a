"""The error of a data source that cannot be used at all (missing, empty, malformed): a user can fix it."""


class DataSourceError(ValueError):
    """The data source is missing, empty or malformed; the message names it and what to do."""
