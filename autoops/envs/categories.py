"""The failure categories the build simulator produces, in pipeline order.

Ids are those of ``knowledge_base/taxonomy.yaml``; the order is the order of the stages in
which each failure happens, which is also the order of the outcome index (0 is success).
"""

FAILURES: tuple[str, ...] = (
    "cache_restore_failure",  # setup: restoring the dependency/image cache
    "docker_pull_rate_limit",  # image: pulling the build image
    "network_timeout_flaky_download",  # dependencies: downloading
    "dependency_version_conflict",  # dependencies: resolving
    "disk_full",  # compile: writing build outputs
    "build_oom",  # compile
    "compilation_error",  # compile: a genuine code failure
    "ci_runner_timeout_or_cancelled",  # the runner is lost mid-build
    "test_timeout",  # tests
    "flaky_test",  # tests
)

OUTCOMES: tuple[str, ...] = ("success", *FAILURES)

# The tools whose output the simulated error logs imitate (a scenario picks one).
TOOLCHAINS: tuple[str, ...] = ("gradle", "npm", "python")
