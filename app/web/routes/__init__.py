"""One router per area: pages, exercises, instruments (fragments; JSON), snippets, notebook, instructor, api, docs."""
