from config.domain_errors import ValidationFailed


class RegistrationRejected(ValidationFailed):
    """Email or username taken, or a weak password."""
