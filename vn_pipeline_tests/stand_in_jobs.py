"""A one-op job under a real job's name: what a sensor that follows runs by job name sees, without the job's work."""

import dagster as dg


def run_stand_in(
    instance: dg.DagsterInstance, name: str, tags: dict[str, str], fail: bool = False
) -> dg.ExecuteInProcessResult:
    """A run of job ``name`` on ``instance`` with ``tags``, failed when ``fail``."""

    @dg.op(name=f"{name}_step")
    def step() -> None:
        if fail:
            raise RuntimeError(f"{name} failed")

    @dg.job(name=name)
    def stand_in() -> None:
        step()

    result = stand_in.execute_in_process(instance=instance, tags=tags, raise_on_error=False)
    assert result.success is not fail
    return result
