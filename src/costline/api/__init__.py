"""``costline serve``: the REST API (FastAPI, versioned under ``/api/v1``) and the web UI over
the :class:`~costline.workspace.Workspace` façade. Thin: parse, check access, call, render."""
