"""The container target's machinery: build context, proofs, container engines, base images.

Nothing here is imported by ``import jupyter_deploy``; the modules load when the container target
or the base-image script is used.
"""
