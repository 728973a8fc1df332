"""The web UI of ``costline serve``: :mod:`costline.ui.pages` (routes, mounted by the API's
app), :mod:`costline.ui.present` (money, names, chart data), Jinja2 ``templates/`` and
``static/`` assets (CSS, ``charts.js``, vendored Chart.js)."""
