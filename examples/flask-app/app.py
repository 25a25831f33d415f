"""The classic Heroku getting-started shape: a Flask app served by gunicorn (see Procfile)."""
import sys

from flask import Flask

app = Flask(__name__)


@app.route("/")
def index():
    return f"Hello from python-cnb! (Python {sys.version.split()[0]})\n"
