"""HTTP endpoints: accounts (register, the caller's profile and password)."""
from libs.common.context import caller
from libs.common.schemas import schema

from ..api import api, client_address, services
from ..sessions.schemas import SessionOut
from .schemas import ChangePasswordIn, MeOut, PasswordChangedOut, ProfileIn, RegisterIn


@api.route("/auth/register", "POST", body=RegisterIn, response=SessionOut, status=201, public=True, errors=(409,),
           summary="Create an account (with a personal organization and workspace) and receive a JWT")
def register(body):
    return schema(SessionOut).dump(services().accounts.create(email=body["email"], password=body["password"],
                                                        name=body["name"]))


@api.route("/auth/me", "GET", response=MeOut, summary="The current user's profile")
def me():
    return schema(MeOut).dump({"user": services().accounts.read(caller=caller())})


@api.route("/auth/me", "PATCH", body=ProfileIn, response=MeOut, summary="Update the current user's profile")
def update_me(body):
    return schema(MeOut).dump({"user": services().accounts.update(caller=caller(), data=body)})


@api.route("/auth/change-password", "POST", body=ChangePasswordIn, response=PasswordChangedOut, errors=(429,),
           summary="Change the current user's password (throttled like login); the answer holds a fresh JWT")
def change_password(body):
    return schema(PasswordChangedOut).dump(services().accounts.change_password(
        caller=caller(), current=body["currentPassword"], new=body["newPassword"], address=client_address()))
