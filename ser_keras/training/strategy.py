"""tf.distribute strategies for ``ser-train --strategy``.

- ``auto``: MirroredStrategy over all visible GPUs when there is one or more, else the default
  (single-device) strategy;
- ``mirrored``: MirroredStrategy over the GPUs, or over the CPU's logical devices when there is
  no GPU (``cpu_replicas`` splits the CPU into that many logical devices: tests use 2);
- ``multiworker``: MultiWorkerMirroredStrategy across machines: every worker runs the same
  command with its own ``TF_CONFIG`` (the cluster's workers and this worker's place among
  them, read by tf.distribute's TFConfigClusterResolver); checked first, so a missing or
  malformed one is a one-line error naming the variable;
- ``default``: no distribution.
"""
from __future__ import annotations

import json
import os
from typing import Mapping

from ser_keras.errors import ConfigError

STRATEGIES = ("auto", "mirrored", "multiworker", "default")

TF_CONFIG_EXAMPLE = ('{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                     '"task": {"type": "worker", "index": 0}}')
_TASK_TYPES = ("chief", "worker", "evaluator", "ps")


def read_tf_config(environ: Mapping[str, str] | None = None) -> dict:
    """The ``TF_CONFIG`` of the environment, checked as MultiWorkerMirroredStrategy needs it:
    ``cluster`` maps task types (``worker``, optionally ``chief``) to lists of ``host:port``,
    ``task`` is this process's ``{type, index}`` among them. Anything else is a ConfigError
    naming the variable and an example value (tf.distribute itself would silently train on
    one machine without it, or fail deep in its gRPC setup)."""
    environ = os.environ if environ is None else environ
    value = environ.get("TF_CONFIG", "")
    example = f"e.g. TF_CONFIG='{TF_CONFIG_EXAMPLE}' (the same cluster on every worker, " \
              "its own task index on each)"

    def fail(problem: str):
        raise ConfigError(f"--strategy multiworker: TF_CONFIG {problem}; {example}")

    if not value.strip():
        fail("is not set (it names the cluster's workers and this worker's index)")
    try:
        config = json.loads(value)
    except ValueError as err:
        fail(f"is not JSON ({err.msg} at character {err.pos})")
    if not isinstance(config, dict):
        fail("is not a JSON object")
    cluster, task = config.get("cluster"), config.get("task")
    if not isinstance(cluster, dict) or not cluster:
        fail("has no 'cluster' mapping of task types to lists of host:port")
    for kind, addresses in cluster.items():
        if kind not in _TASK_TYPES:
            fail(f"cluster: unknown task type {kind!r} (known: {', '.join(_TASK_TYPES)})")
        if (not isinstance(addresses, list) or not addresses
                or not all(isinstance(a, str) and ":" in a for a in addresses)):
            fail(f"cluster.{kind}: not a non-empty list of 'host:port' strings")
    if not ({"worker", "chief"} & set(cluster)):
        fail("cluster: names no 'worker' (nor 'chief')")
    if not isinstance(task, dict) or "type" not in task or "index" not in task:
        fail("has no 'task': {\"type\": \"worker\", \"index\": N}")
    kind, index = task["type"], task["index"]
    if kind not in cluster:
        fail(f"task.type {kind!r} is not in cluster ({', '.join(cluster)})")
    if isinstance(index, bool) or not isinstance(index, int) \
            or not 0 <= index < len(cluster[kind]):
        fail(f"task.index {index!r} is not an index of cluster.{kind} "
             f"(0 to {len(cluster[kind]) - 1})")
    return config


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
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; known: {', '.join(STRATEGIES)}")
    if name == "multiworker":
        read_tf_config()  # before TensorFlow starts: a bad TF_CONFIG costs no start-up
    import tensorflow as tf

    if cpu_replicas and cpu_replicas > 1:
        split_cpu(cpu_replicas)
    if name == "multiworker":
        # Must be built before any other TensorFlow op (ser-train builds it first).
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
        return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
    gpus = tf.config.list_logical_devices("GPU")
    if name == "default" or (name == "auto" and not gpus):
        return tf.distribute.get_strategy()
    devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
    return tf.distribute.MirroredStrategy(devices=devices)


__all__ = ["STRATEGIES", "TF_CONFIG_EXAMPLE", "make_strategy", "read_tf_config", "split_cpu"]
