"""A local Amazon Bedrock image-model emulator (InvokeModel, ApplyGuardrail) plus Rekognition moderation.

Unmodified boto3 clients talk to it through ``AWS_ENDPOINT_URL_BEDROCK_RUNTIME`` and
``AWS_ENDPOINT_URL_REKOGNITION``. Start it with ``imagegen_emulator.server.start()`` or
``imagegen emulator serve``. See docs/models-and-emulator.md for what it does and does not emulate.
"""

from __future__ import annotations

__all__ = ["RunningEmulator", "start"]


def __getattr__(name: str) -> object:  # lazy: importing the package stays cheap
    if name in __all__:
        from imagegen_emulator import server

        return getattr(server, name)
    raise AttributeError(name)
