"""Deprecated: the model contract moved to :mod:`musiclatent.architectures.base`
(``AudioAutoencoder``, ``fit_length``, ``pad_to_multiple``, ``count_parameters``) and device
selection to :mod:`musiclatent.devices` (``select_device``, ``available_devices``,
``release_memory``, ``DeviceError``). Plugin authors import the contract from
:mod:`musiclatent.plugin_api`. This shim re-exports the old names with a ``DeprecationWarning``.
"""

from musiclatent.deprecation import moved_apart


def _contract():
    from musiclatent.architectures import base

    return base


def _devices():
    from musiclatent import devices

    return devices


__getattr__ = moved_apart(__name__, {
    _contract: ("AudioAutoencoder", "count_parameters", "fit_length", "pad_to_multiple"),
    _devices: ("DeviceError", "available_devices", "release_memory", "select_device"),
})
