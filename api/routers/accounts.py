"""Organisations, users, API keys and the OAuth2 password flow (``accounts/``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Path, Query, Response

from accounts import store
from accounts.errors import Forbidden, Unauthenticated
from api.auth import (AUTH_ERRORS, BEARER_CHALLENGE, AdminDep, AuthenticatorDep, MemberDep, PrincipalDep,
                      api_key_scheme, bearer_scheme, unauthorized)
from api.deps import IngestDbDep
from api.problems import problems
from api.routing import JsonRoute
from api.schemas.accounts import (KeyCreatedOut, KeyIn, KeyListOut, MeOut, OrgCreatedOut, OrgIn, TokenOut,
                                  UserIn, UserListOut, UserOut)
from api.schemas.accounts import PASSWORD
from optimizer.timefmt import iso_ms

router = APIRouter(route_class=JsonRoute, prefix="/v1", tags=["accounts"])
KeyId = Annotated[str, Path(description="the key's id (its public part)", min_length=1, max_length=64,
                            pattern=r"^[a-z0-9]{1,64}$")]
Limit = Annotated[int, Query(ge=1, le=store.LIST_MAX, description="items per page")]
Offset = Annotated[int, Query(ge=0, le=1_000_000_000, description="items to skip")]
BAD_BODY = "the body is not parseable JSON (e.g. not UTF-8, or nested too deeply)"


def org_out(o: store.Org) -> dict[str, Any]:
    return {"id": o.org_id, "name": o.name, "kind": o.kind, "created": iso_ms(o.created_ms)}


def user_out(u: store.User) -> dict[str, Any]:
    return {"id": u.user_id, "email": u.email, "name": u.name, "role": u.role, "created": iso_ms(u.created_ms),
            "disabled": iso_ms(u.disabled_ms)}


def key_out(k: store.ApiKey, secret: str | None = None) -> dict[str, Any]:
    out = {"id": k.key_id, "name": k.name, "role": k.role, "state": k.state(), "created": iso_ms(k.created_ms),
           "created_by": k.created_by, "last_used": iso_ms(k.last_used_ms), "expires": iso_ms(k.expires_ms),
           "revoked": iso_ms(k.revoked_ms)}
    if secret is not None:
        out["key"] = secret
    return out


# --- the OAuth2 password flow ---------------------------------------------------------------------------
@router.post("/token", response_model=TokenOut, summary="Sign in: e-mail and password for a short-lived bearer token",
             responses=problems(**{"400": "the body is not a parseable form", "401": "wrong e-mail or password",
                                   "422": "the form misses username or password"}))
def post_token(auth: AuthenticatorDep,
               username: Annotated[str, Form(description="the user's e-mail", min_length=1, max_length=254)],
               password: Annotated[str, Form(description="the user's password", min_length=1,
                                             max_length=PASSWORD["max_length"])],
               response: Response) -> dict[str, Any]:
    """OAuth2 password grant (RFC 6749 §4.3, form-encoded): ``access_token`` is a JWT to send as
    ``Authorization: Bearer``; it expires after ``expires_in`` seconds (sign in again)."""
    try:
        token, life = auth.issue_token(username, password)
    except Unauthenticated as exc:
        raise unauthorized(exc) from None
    response.headers["Cache-Control"] = "no-store"
    return {"access_token": token, "token_type": "bearer", "expires_in": life}


# --- organisations --------------------------------------------------------------------------------------
@router.post("/orgs", status_code=201, response_model=OrgCreatedOut,
             summary="Create an organisation (the first one: anyone; then an admin of the pilot-zone office)",
             responses=problems(**AUTH_ERRORS, **{"400": BAD_BODY, "409": "an organisation of that name, or a user of "
                                                                           "that e-mail, exists", "422": "invalid input"}),
             # a credential is optional here (the bootstrap): {} in the list says "or none"
             openapi_extra={"security": [{bearer_scheme.scheme_name: []}, {api_key_scheme.scheme_name: []}, {}]})
def post_org(body: OrgIn, principal: PrincipalDep, db: IngestDbDep, response: Response) -> dict[str, Any]:
    """The response holds the new organisation's admin API key: shown this once."""
    try:
        org, secret, key, user = store.create_org(db, body.name, body.kind, actor=principal,
                                                  admin_email=body.admin_email, admin_name=body.admin_name,
                                                  admin_password=body.admin_password, key_name=body.key_name)
    except Forbidden:
        if principal.anonymous:
            raise HTTPException(401, "authentication required: organisations exist already, and only an admin of "
                                     "the pilot-zone office may create more",
                                headers={"WWW-Authenticate": BEARER_CHALLENGE}) from None
        raise
    response.headers["Cache-Control"] = "no-store"
    return {"org": org_out(org), "admin_key": key_out(key, secret), "admin_user": user_out(user) if user else None}


@router.get("/orgs/me", response_model=MeOut, summary="The caller's organisation and credential",
            responses=problems(**AUTH_ERRORS))
def get_me(principal: MemberDep, db: IngestDbDep) -> dict[str, Any]:
    return {"org": org_out(store.get_org(db, principal.org_id)), "role": principal.role,
            "user_id": principal.user_id, "key_id": principal.key_id, "expires": iso_ms(principal.expires_ms)}


# --- users ------------------------------------------------------------------------------------------------
@router.post("/users", status_code=201, response_model=UserOut, summary="Add a user to the organisation (admins)",
             responses=problems(**AUTH_ERRORS, **{"400": BAD_BODY, "409": "a user of that e-mail exists",
                                                  "422": "invalid input"}))
def post_user(body: UserIn, principal: AdminDep, db: IngestDbDep) -> dict[str, Any]:
    return user_out(store.create_user(db, principal.org_id, body.email, body.name, body.role, body.password))


@router.get("/users", response_model=UserListOut, summary="The organisation's users (admins)",
            responses=problems(**AUTH_ERRORS))
def get_users(principal: AdminDep, db: IngestDbDep, limit: Limit = 100, offset: Offset = 0) -> dict[str, Any]:
    users, total = store.list_users(db, principal.org_id, limit=limit, offset=offset)
    return {"items": [user_out(u) for u in users], "total": total, "limit": limit, "offset": offset}


@router.delete("/users/{user_id}", status_code=204,
               summary="Disable a user of the organisation (admins): its tokens stop, it cannot sign in",
               responses=problems(**AUTH_ERRORS, **{"404": "unknown user", "422": "not a user id"}))
def delete_user(user_id: Annotated[str, Path(description="the user's id", min_length=1, max_length=64,
                                             pattern=r"^[a-z0-9_]{1,64}$")],
                principal: AdminDep, db: IngestDbDep, auth: AuthenticatorDep) -> Response:
    """The record stays (it may have created keys); disabling is idempotent. Other API processes
    refuse the user's tokens within a few seconds."""
    store.disable_user(db, principal.org_id, user_id)
    auth.forget(user_id=user_id)
    return Response(status_code=204)


# --- API keys -----------------------------------------------------------------------------------------------
@router.post("/keys", status_code=201, response_model=KeyCreatedOut,
             summary="Create an API key (admins); the key is in this response only",
             responses=problems(**AUTH_ERRORS, **{"400": BAD_BODY, "422": "invalid input"}))
def post_key(body: KeyIn, principal: AdminDep, db: IngestDbDep, response: Response) -> dict[str, Any]:
    key, secret = store.create_key(db, principal.org_id, body.name, body.role, expires_days=body.expires_days,
                                   created_by=principal.user_id or principal.key_id)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Location"] = f"/v1/keys/{key.key_id}"
    return key_out(key, secret)


@router.get("/keys", response_model=KeyListOut, summary="The organisation's API keys (admins; never the keys themselves)",
            responses=problems(**AUTH_ERRORS))
def get_keys(principal: AdminDep, db: IngestDbDep, limit: Limit = 100, offset: Offset = 0,
             include_revoked: Annotated[bool, Query(description="list revoked keys too")] = True) -> dict[str, Any]:
    keys, total = store.list_keys(db, principal.org_id, include_revoked=include_revoked, limit=limit, offset=offset)
    return {"items": [key_out(k) for k in keys], "total": total, "limit": limit, "offset": offset}


@router.delete("/keys/{key_id}", status_code=204, summary="Revoke an API key (admins); it stops working at once",
               responses=problems(**AUTH_ERRORS, **{"404": "unknown key", "422": "not a key id"}))
def delete_key(key_id: KeyId, principal: AdminDep, db: IngestDbDep, auth: AuthenticatorDep) -> Response:
    """Revoked in this process at once; other API processes stop accepting it within a few seconds
    (``accounts.authenticate.POLL_S``). Rotation: create the new key, move the client, revoke the old."""
    store.revoke_key(db, key_id, org_id=principal.org_id)
    auth.forget(key_id=key_id)
    return Response(status_code=204)
