"""Uploading an export to the Hugging Face Hub with ``huggingface_hub``.

The token is read from ``HF_TOKEN`` and never printed. The model folder goes to the model repo
``REPO`` and the dataset folder to the dataset repo of the same name (the Hub keeps models and
datasets apart, so one name serves both). Access is checked before any export work, so a
missing token or an offline machine costs seconds, not a merge: one message, never a traceback.
"""

from __future__ import annotations

import os
from pathlib import Path

from revthink.errors import ExportError

TOKEN_ENV = "HF_TOKEN"


def hub_errors() -> tuple[type[Exception], ...]:
    """What a failed Hub call raises: HTTP answers, transport failures, offline mode, bad ids.

    The HTTP client's own error class (requests or httpx, by huggingface_hub version) is the
    base of ``HfHubHTTPError``; connection failures derive from it or from OSError.
    """
    from huggingface_hub.errors import HfHubHTTPError

    return (OSError, ValueError, HfHubHTTPError, HfHubHTTPError.__mro__[1])


def token() -> str:
    """The Hub token from the environment; ExportError saying how to set it otherwise."""
    value = os.environ.get(TOKEN_ENV, "").strip()
    if not value:
        raise ExportError(
            f"--push-to-hub needs a Hugging Face token with write access in ${TOKEN_ENV} "
            "(create one at https://huggingface.co/settings/tokens)"
        )
    return value


def check_access(repo: str, secret: str) -> None:
    """Fail early, in one line, when the Hub cannot be reached or does not accept the token."""
    from huggingface_hub import HfApi

    try:
        HfApi(token=secret).whoami()
    except hub_errors() as err:
        raise ExportError(f"--push-to-hub {repo}: {_reason(err)}") from None


def push(model_dir: Path, dataset_dir: Path | None, repo: str, secret: str) -> list[str]:
    """Upload the model folder (without the dataset folder) and the dataset; returns the URLs."""
    from huggingface_hub import HfApi

    api = HfApi(token=secret)
    uploads = [("model", model_dir, [f"{dataset_dir.name}/**"] if dataset_dir else None)]
    if dataset_dir is not None:
        uploads.append(("dataset", dataset_dir, None))
    urls = []
    try:
        for kind, folder, ignore in uploads:
            url = api.create_repo(repo, repo_type=kind, exist_ok=True)
            api.upload_folder(
                repo_id=repo, folder_path=folder, repo_type=kind, ignore_patterns=ignore,
                commit_message="Upload with revthink export",
            )
            urls.append(str(url))
    except hub_errors() as err:
        raise ExportError(f"--push-to-hub {repo}: {_reason(err)}") from None
    return urls


def _reason(err: Exception) -> str:
    """The first line of the error, with the usual fix for the usual causes."""
    text = str(err).splitlines()[0] if str(err) else type(err).__name__
    if type(err).__name__ == "OfflineModeIsEnabled":
        return "the Hub is unreachable in offline mode (HF_HUB_OFFLINE is set); unset it"
    status = getattr(getattr(err, "response", None), "status_code", None)
    if status == 401:
        return f"the Hub rejected the token in ${TOKEN_ENV} (401); check that it is valid"
    if status is None and not isinstance(err, ValueError):
        return f"cannot reach the Hugging Face Hub ({text}); check the network connection"
    return text
