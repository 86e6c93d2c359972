"""gunicorn's settings for gridsvc, read by gunicorn from the folder it starts in (the checkout).

The command line still names the worker class, the workers and the address (docs/reference/deployment.md).
"""

# The longest request line gunicorn takes (its maximum; the default is 4094). The service refuses
# addresses over gridsvc.web.request_guard.MAX_URL_BYTES itself, with a 414 in the API's error shape;
# gunicorn's own 414 is an HTML page. Past this, the reverse proxy answers (nginx: 8 KB by default).
limit_request_line = 8190
