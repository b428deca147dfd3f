"""Flask extensions as module singletons, bound to an app by `init_app`."""

from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
login_manager.login_view = "auth.login"
login_manager.login_message = "Please sign in to continue."
login_manager.login_message_category = "info"
login_manager.session_protection = None  # the server-side session row does this job

csrf = CSRFProtect()
