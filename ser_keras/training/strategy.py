"""tf.distribute strategies for ``ser-train --strategy``.

- ``auto``: MirroredStrategy over all visible GPUs when there is one or more, else the default
  (single-device) strategy;
- ``mirrored``: MirroredStrategy over the GPUs, or over the CPU's logical devices when there is
  no GPU (``cpu_replicas`` splits the CPU into that many logical devices: tests use 2);
- ``multiworker``: MultiWorkerMirroredStrategy across machines (reads ``TF_CONFIG``);
- ``default``: no distribution.
"""
from __future__ import annotations

STRATEGIES = ("auto", "mirrored", "multiworker", "default")


def split_cpu(replicas: int) -> None:
    """Split the CPU into ``replicas`` logical devices; must run before TensorFlow initialises."""
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current and len(current) == replicas:
        return
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(replicas)])


def make_strategy(name: str = "auto", cpu_replicas: int | None = None):
    import tensorflow as tf

    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; known: {', '.join(STRATEGIES)}")
    if cpu_replicas and cpu_replicas > 1:
        split_cpu(cpu_replicas)
    gpus = tf.config.list_logical_devices("GPU")
    if name == "default" or (name == "auto" and not gpus):
        return tf.distribute.get_strategy()
    if name == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy()
    devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices=devices)
