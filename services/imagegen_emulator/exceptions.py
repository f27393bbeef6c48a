"""Errors the emulator answers with, carrying the AWS error codes and HTTP statuses boto3 expects.

Bedrock runtime is REST-JSON: the code travels in the ``x-amzn-ErrorType`` header and the text in
``{"message": ...}``. Rekognition is JSON 1.1: ``{"__type": code, "Message": ...}``.
"""

from __future__ import annotations

CONTENT_FILTER_MESSAGE = (
    "This request has been blocked by our content filters. Please adjust your text prompt to submit a new request."
)
END_OF_LIFE_MESSAGE = (
    "This model version has reached the end of its life. Please refer to the AWS documentation for more details."
)


class EmulatorError(Exception):
    code = "InternalServerException"
    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ValidationException(EmulatorError):
    code = "ValidationException"
    status = 400


class AccessDeniedException(EmulatorError):
    code = "AccessDeniedException"
    status = 403


class ResourceNotFoundException(EmulatorError):
    code = "ResourceNotFoundException"
    status = 404


class ModelTimeoutException(EmulatorError):
    code = "ModelTimeoutException"
    status = 408


class ModelErrorException(EmulatorError):
    code = "ModelErrorException"
    status = 424


class ThrottlingException(EmulatorError):
    code = "ThrottlingException"
    status = 429


class InternalServerException(EmulatorError):
    code = "InternalServerException"
    status = 500


class ServiceUnavailableException(EmulatorError):
    code = "ServiceUnavailableException"
    status = 503


class UnknownOperation(EmulatorError):
    code = "UnknownOperationException"
    status = 404


# Rekognition (JSON 1.1)
class InvalidParameterException(EmulatorError):
    code = "InvalidParameterException"
    status = 400


class InvalidImageFormatException(EmulatorError):
    code = "InvalidImageFormatException"
    status = 400


class ImageTooLargeException(EmulatorError):
    code = "ImageTooLargeException"
    status = 400


class InvalidS3ObjectException(EmulatorError):
    code = "InvalidS3ObjectException"
    status = 400


# Service Quotas (JSON 1.1)
class NoSuchResourceException(EmulatorError):
    code = "NoSuchResourceException"
    status = 400
