"""Atomic writes of files and folders, and the manifests they carry."""
