"""Web UI assets for ``costline serve``: templates and static files (CSS, charts, vendored
Chart.js), served by the API. Assets only: no Python logic lives here."""
