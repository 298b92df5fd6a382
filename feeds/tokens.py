"""Feed tokens: the secret part of each participant's private calendar address.

Design. A workspace has a *feed key*: 32 random bytes from ``secrets``, kept in the file
``feeds.key`` beside the database (mode 0600, created on the first publish) and never in the
database. A person's token is ``urlsafe_b64(HMAC-SHA256(key, "<person_id>:<generation>")[:24])``:
192 bits, 32 URL-safe characters, unguessable without the key. The database keeps only
``sha256(token)`` with the person, the generation and the dates, which is all the server needs to
answer a request. So:

* a copy of the database (a backup, a leaked file) reveals no feed address;
* the address is recomputed from the key at every publish, so it stays the same across cycles
  and re-publishes until it is rotated;
* ``rotate`` bumps the generation: the old token's row is marked revoked and the new one is the
  only valid token, at once;
* ``revoke`` marks the current token revoked and drops the served document: the feed is neither
  served nor published again until ``rotate`` issues a new token.

If the key file is lost (or replaced) while addresses have been issued, every command that needs
it stops with an error naming the file and the two ways out: restore ``feeds.key`` from a backup,
or ``mentorsync feeds rotate --all`` (``rotate_all``), which writes a new key and issues every
participant a new address at once. Nothing re-issues addresses silently. The key is created
automatically only on the very first publish. Keep ``feeds.key`` out of version control and back
it up with the database.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from cohort.errors import StoreError, UsageError
from store.db import Workspace, workspace_secret
from store.feeds import (
    TokenRecord,
    current_token,
    current_tokens,
    delete_documents,
    insert_tokens,
    last_generations,
    newest_issued_token,
    revoke_tokens,
)
from store.privacy import PSEUDONYM_PREFIX, pseudonym_of

KEY_FILE = "feeds.key"
KEY_BYTES = 32
TOKEN_BYTES = 24  # 192 bits
COORDINATOR = "*coordinator*"  # the owner id of the coordinator's feed


def _now(now: datetime | None) -> str:
    return (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0).isoformat()


def key_path(ws: Workspace) -> Path:
    return ws.directory / KEY_FILE


def _key_problem(path: Path, what: str) -> StoreError:
    return StoreError(
        f"{path}: {what}; feed URLs were issued with the lost key. Restore {KEY_FILE} from your backup "
        f"to keep every address, or run `mentorsync feeds rotate --all` to give everyone a new URL"
    )


def _read_key(path: Path) -> bytes | None:
    """The key file's bytes (None when it does not exist), refusing what is not a key file."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(KEY_BYTES + 1)
    except FileNotFoundError:
        return None
    except IsADirectoryError:
        raise StoreError(
            f"{path} is a directory, not the feed key; move it away "
            f"(restore the {KEY_FILE} file from a backup if you have one)"
        ) from None
    except OSError as exc:
        raise StoreError(f"{path}: cannot read the feed key: {exc.strerror}") from None
    if len(data) != KEY_BYTES:
        raise StoreError(f"{path} is not a feed key ({len(data)} bytes, expected {KEY_BYTES})")
    return data


def _write_key(path: Path, data: bytes, *, replace: bool) -> bool:
    """Write the key file with mode 0600, atomically; False when ``replace`` is false and another
    process created it first."""
    if not replace:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return False
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        return True
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return True


def load_key(ws: Workspace, *, create: bool = True) -> bytes:
    """The workspace feed key.

    Created (mode 0600) when missing, ``create`` is true and no address was ever issued (the first
    publish). A missing key once addresses exist, or a key that does not match them, raises
    ``StoreError`` naming the file and the fix: addresses are never re-issued silently.
    """
    path = key_path(ws)
    data = _read_key(path)
    issued = newest_issued_token(ws)
    if data is None:
        if issued is not None:
            raise _key_problem(path, "the feed key is missing")
        if not create:
            raise StoreError(f"no feed key at {path} (run `mentorsync publish` first)")
        data = secrets.token_bytes(KEY_BYTES)
        if not _write_key(path, data, replace=False):  # another process created it first: use theirs
            return load_key(ws, create=False)
        return data
    if issued is not None and not hmac.compare_digest(
        hash_token(make_token(data, issued.person_id, issued.generation)), issued.token_hash
    ):
        raise _key_problem(path, "the feed key does not match the issued feed URLs")
    return data


def rotate_all(ws: Workspace, *, now: datetime | None = None) -> int:
    """A new feed key and a new address for every participant whose feed is not revoked (the way
    out when ``feeds.key`` was lost, or every address leaked). Returns how many were issued."""
    path = key_path(ws)
    key = secrets.token_bytes(KEY_BYTES)
    stamp = _now(now)
    with ws.transaction():
        active = [r for r in current_tokens(ws).values() if r.revoked_at is None]
        revoke_tokens(ws, [r.token_hash for r in active], stamp)
        insert_tokens(ws, [_record(key, r.person_id, r.generation + 1, stamp) for r in active])
        # Last inside the transaction: if the commit then failed, the key would not match and the
        # next command would say so (and `rotate --all` again fixes it).
        _write_key(path, key, replace=True)
    return len(active)


def make_token(key: bytes, person_id: str, generation: int) -> str:
    """The token of ``person_id`` at ``generation``: URL-safe, 32 characters, 192 bits."""
    digest = hmac.new(key, f"{person_id}:{generation}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:TOKEN_BYTES]).decode("ascii")


def hash_token(token: str) -> str:
    """What the database stores and the server looks up: hex sha256 of the token."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def _record(key: bytes, person_id: str, generation: int, stamp: str) -> TokenRecord:
    """The stored record of the token of ``person_id`` at ``generation``, issued at ``stamp``."""
    return TokenRecord(person_id, generation, hash_token(make_token(key, person_id, generation)), stamp, None)


def ensure_token(
    ws: Workspace, key: bytes, person_id: str, *, now: datetime | None = None
) -> tuple[str | None, bool]:
    """``(token, reissued)`` for ``person_id``, issuing one if needed; token None when revoked.

    ``reissued`` is true when a stored token could not be recomputed (the key file changed) and a
    new generation was issued. Call inside a transaction.
    """
    return ensure_tokens(ws, key, [person_id], now=now)[person_id]


def ensure_tokens(
    ws: Workspace, key: bytes, person_ids: Iterable[str], *, now: datetime | None = None
) -> dict[str, tuple[str | None, bool]]:
    """``ensure_token`` for many people at once: one query, batched writes (what publish uses).

    Returns ``{person_id: (token, reissued)}`` with the same meaning as ``ensure_token``.
    """
    stamp = _now(now)
    wanted = list(dict.fromkeys(person_ids))
    if len(wanted) == 1:
        record = current_token(ws, wanted[0])
        latest = {wanted[0]: record} if record else {}
    else:
        latest = current_tokens(ws)
    out: dict[str, tuple[str | None, bool]] = {}
    inserts: list[TokenRecord] = []
    superseded: list[str] = []
    erased = _erased_generations(ws, [pid for pid in wanted if pid not in latest])
    for pid in wanted:
        record = latest.get(pid)
        if record is not None and record.revoked_at is not None:
            out[pid] = (None, False)
            continue
        if record is not None:
            token = make_token(key, pid, record.generation)
            if hmac.compare_digest(hash_token(token), record.token_hash):
                out[pid] = (token, False)
                continue
            superseded.append(record.token_hash)
        generation = record.generation + 1 if record else erased.get(pid, 0) + 1
        inserts.append(_record(key, pid, generation, stamp))
        out[pid] = (make_token(key, pid, generation), record is not None)
    revoke_tokens(ws, superseded, stamp)
    insert_tokens(ws, inserts)
    return out


def _erased_generations(ws: Workspace, person_ids: list[str]) -> dict[str, int]:
    """The last token generation of each of ``person_ids`` that was erased and re-joins: an
    erased person's token rows stay (revoked) under their pseudonym, so a re-joining id
    continues after them and never gets an old address back."""
    last = last_generations(ws, PSEUDONYM_PREFIX)
    if not last or not person_ids:
        return {}
    secret = workspace_secret(ws)
    out = {}
    for pid in person_ids:
        pseudonym = pseudonym_of(secret, pid)
        if pseudonym in last:
            out[pid] = last[pseudonym]
    return out


def rotate(ws: Workspace, person_id: str, *, now: datetime | None = None) -> str:
    """Issue ``person_id`` a new token (also after a revoke); the old one stops working at once.

    Returns the new token. The served document moves to the new address immediately; the files
    in ``OUT/feeds`` follow at the next publish.
    """
    key = load_key(ws)
    stamp = _now(now)
    with ws.transaction():
        record = current_token(ws, person_id)
        if record is None:
            raise UsageError(f"no feed has been issued to {person_id!r} (check the id, or publish first)")
        if record.revoked_at is None:
            revoke_tokens(ws, [record.token_hash], stamp)
        insert_tokens(ws, [_record(key, person_id, record.generation + 1, stamp)])
        return make_token(key, person_id, record.generation + 1)


def revoke(ws: Workspace, person_id: str, *, now: datetime | None = None) -> bool:
    """Stop serving ``person_id``'s feed at once; False if it was already revoked.

    The feed is not published again until ``rotate`` issues a new token.
    """
    stamp = _now(now)
    with ws.transaction():
        record = current_token(ws, person_id)
        if record is None:
            raise UsageError(f"no feed has been issued to {person_id!r} (check the id, or publish first)")
        delete_documents(ws, [person_id])
        if record.revoked_at is not None:
            return False
        revoke_tokens(ws, [record.token_hash], stamp)
        return True


def feed_url(base_url: str, token: str) -> str:
    """The public address of a feed."""
    return f"{base_url.rstrip('/')}/feeds/{token}.ics"


def page_url(base_url: str, token: str) -> str:
    """The public address of a participant's private page (same token as their feed)."""
    return f"{base_url.rstrip('/')}/p/{token}"
