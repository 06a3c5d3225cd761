"""The project's Lambda functions (approval, deploy, failure alerts, retrain): the one package in their asset.

Lambda imports the handlers by their full names (``lambdas.approval.handler.handler``), so every
module here imports its siblings as ``lambdas.x``, in AWS, in the local run and in the tests alike.
"""
