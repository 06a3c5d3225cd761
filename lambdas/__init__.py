"""The Model Registry functions (approval and deploy): the one package in their Lambda asset.

Lambda imports the handlers by their full names (``lambdas.approval.handler.handler``), so every
module here imports its siblings as ``lambdas.x``, in AWS, in the local run and in the tests alike.
"""
