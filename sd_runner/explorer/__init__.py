"""The lever explorer: the model compiled to JavaScript in one offline HTML page."""
