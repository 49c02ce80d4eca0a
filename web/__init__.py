"""Web pages: the partner portal (and, later, the staff studio). FastAPI, server-rendered."""
