"""One Powertools Logger per process, shared by handler and logic modules.

The service name comes from POWERTOOLS_SERVICE_NAME, which the stack sets per function
(constants.APPROVAL_SERVICE_NAME / DEPLOY_SERVICE_NAME). Creating the Logger at import reads no
other setting and builds no AWS client, so importing a handler stays side-effect free.
"""

from __future__ import annotations

from aws_lambda_powertools import Logger

logger = Logger()
