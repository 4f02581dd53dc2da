"""The bundled network data, installed as the package ``cbec_data`` (see ``pyproject.toml``).

It holds no code: the package exists so that a wheel carries the data files and
``importlib.resources.files("cbec_data")`` finds them wherever the project is installed.
"""
