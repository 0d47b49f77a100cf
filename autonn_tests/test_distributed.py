"""autonn.distributed under ``mpiexec -n 2`` (the ranks run autonn_tests/mpi_cases.py; the checks
and their oracles are here), plus the single-process behaviour."""
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

import autonn as an
from autonn_tests import mpi_cases

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORLD = 2


def _mpiexec():
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    found = here if os.path.exists(here) else shutil.which("mpiexec")
    if found is None:
        pytest.fail("no mpiexec: install the distributed extra (pip install -e '.[distributed]', "
                    "which brings mpi4py and the mpich wheel)")
    return found


def _launch(case, outdir, timeout, n=WORLD):
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    cmd = [_mpiexec(), "-n", str(n), sys.executable, "-m", "autonn_tests.mpi_cases", case,
           str(outdir)]
    start = time.perf_counter()
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=timeout)
    return result, time.perf_counter() - start


@pytest.fixture(scope="module")
def ranks(tmp_path_factory):
    """Run the suite once on 2 ranks; each rank's results as a dict."""
    outdir = tmp_path_factory.mktemp("mpi_suite")
    result, _ = _launch("suite", outdir, timeout=180)
    assert result.returncode == 0, result.stdout + result.stderr
    out = []
    for r in range(WORLD):
        with np.load(os.path.join(outdir, f"rank{r}.npz")) as z:
            out.append({k: z[k] for k in z.files})
    return out


def test_the_job_has_two_ranks(ranks):
    assert [int(r["world"]) for r in ranks] == [2, 2]


def test_all_reduce_values(ranks):
    for r in ranks:  # rank r contributed [r + 1, 10 (r + 1)] and [r + 1, -(r + 1)]
        np.testing.assert_array_equal(r["c.sum"], [1 + 2, 10 + 20])
        np.testing.assert_array_equal(r["c.max"], [2, -1])
        np.testing.assert_array_equal(r["c.min"], [1, -2])
        np.testing.assert_array_equal(r["c.product"], [1 * 2, (-1) * (-2)])
        np.testing.assert_array_equal(r["c.avg"], [1.5, -1.5])
        np.testing.assert_array_equal(r["c.int_sum"], [0 + 1, 0 + 2])
        assert r["c.int_sum"].dtype == np.int64


def test_all_reduce_of_a_strided_view_writes_only_the_view(ranks):
    for rank, r in enumerate(ranks):
        mine = np.arange(12.0).reshape(3, 4) * (rank + 1)
        expected = mine.copy()
        expected[:, ::2] = np.arange(12.0).reshape(3, 4)[:, ::2] * (1 + 2)
        np.testing.assert_array_equal(r["c.strided_base"], expected)


def test_broadcast_values(ranks):
    for r in ranks:
        np.testing.assert_array_equal(r["c.bcast_last"], np.full((2, 3), 1.0))  # rank 1's
        assert r["c.bcast_last"].dtype == np.float32


def test_sampler_shards_are_disjoint_and_cover(ranks):
    for n in (10, 11, 3):
        for epoch in (0, 1):
            shards = [r[f"s.shard_{n}_0_{epoch}"] for r in ranks]
            assert {len(s) for s in shards} == {-(-n // WORLD)}
            together = np.concatenate(shards)
            assert set(together.tolist()) == set(range(n))  # covering
            assert len(together) - n == (-n) % WORLD  # only the padding repeats
            if n % WORLD == 0:
                assert not set(shards[0]) & set(shards[1])  # disjoint
            dropped = [r[f"s.shard_{n}_1_{epoch}"] for r in ranks]
            assert {len(s) for s in dropped} == {n // WORLD}
            both = np.concatenate(dropped)
            assert len(set(both.tolist())) == len(both) == WORLD * (n // WORLD)
        e0 = np.concatenate([r["s.shard_10_0_0"] for r in ranks])
        e1 = np.concatenate([r["s.shard_10_0_1"] for r in ranks])
        assert e0.tolist() != e1.tolist()  # set_epoch reshuffles


def test_dataloader_with_sampler_reads_each_ranks_shard(ranks):
    np.testing.assert_array_equal(ranks[0]["s.loader_rows"], [0, 2, 4, 6, 8])
    np.testing.assert_array_equal(ranks[1]["s.loader_rows"], [1, 3, 5, 7, 9])


def test_wrap_broadcasts_rank_0s_parameters(ranks):
    for i in range(4):  # rank 1 built its model from another seed
        assert not np.array_equal(ranks[0][f"e.before_{i}"], ranks[1][f"e.before_{i}"])
        for r in ranks:
            np.testing.assert_array_equal(r[f"e.wrapped_{i}"], ranks[0][f"e.before_{i}"])


def test_wrap_broadcasts_frozen_parameters_and_buffers(ranks):
    for key in ("bias", "mean", "weight"):
        assert not np.array_equal(ranks[0][f"b.before.{key}"], ranks[1][f"b.before.{key}"])
        for r in ranks:
            np.testing.assert_array_equal(r[f"b.after.{key}"], ranks[0][f"b.before.{key}"])


def test_wrap_writes_a_parameter_a_graph_holds_in_place(ranks):
    """The weight was held by a graph when DDP was built: the broadcast still lands (above), and a
    backward through that graph raises PyTorch's version error (on every rank: each one's wrap
    bumps the version, as PyTorch's in-place copy does)."""
    for r in ranks:
        assert "modified by an inplace operation" in str(r["b.stale_backward"])


def test_two_ranks_at_half_batch_take_the_steps_of_one_process(ranks):
    """20 SGD (momentum) steps, float64: 2 ranks with 8 rows each against one process with 16."""
    model = mpi_cases.equivalence_model(seed=0)
    mpi_cases.train_sgd(model, model.parameters(), rank=0, world=1)  # one process, batch 16
    for i, p in enumerate(model.parameters()):
        ref = p.data
        for r in ranks:
            got = r[f"e.final_{i}"]
            assert np.max(np.abs(got - ref)) <= 1e-6 * np.max(np.abs(ref))
        assert not np.allclose(ref, ranks[0][f"e.before_{i}"])  # the steps did move it
    # 1e-4 MB buckets: each weight (168 and 280 bytes) alone, reduced in place; each bias shared
    assert int(ranks[0]["e.n_buckets"]) == 4


def test_gradients_are_the_average_and_an_unused_parameter_counts_as_zeros(ranks):
    names = [k[len("u.0.ddp."):] for k in ranks[0] if k.startswith("u.0.ddp.")]
    assert set(names) == {f"{m}.{w}" for m in ("trunk", "a", "b") for w in ("weight", "bias")}
    for step in (0, 1):
        for name in names:
            mean = sum(r[f"u.{step}.local.{name}"] for r in ranks) / WORLD
            for r in ranks:
                np.testing.assert_allclose(r[f"u.{step}.ddp.{name}"], mean, rtol=1e-12,
                                           atol=1e-15)
    np.testing.assert_array_equal(ranks[1]["u.0.local.b.weight"], 0)  # unused on rank 1
    assert np.abs(ranks[0]["u.0.local.b.weight"]).max() > 0


def test_wrap_refuses_different_models_naming_parameter_and_ranks(ranks):
    for r in ranks:
        msg = str(r["m.mismatch_msg"])
        assert "'0.weight'" in msg and "rank 0" in msg and "rank 1" in msg
        assert "(5, 7)" in msg and "(5, 6)" in msg
        msg = str(r["m.dtype_msg"])
        assert "'weight'" in msg and "float32" in msg and "float64" in msg


def test_allreduce_starts_before_backward_reaches_the_first_layer(ranks):
    for r in ranks:
        seen = r["o.launched_while_first_layer_pending"]
        assert len(seen) == 6  # one bucket per parameter
        assert seen.any()  # some launched while the first layer's gradient was still to come


def test_checkpoint_resume_continues_identically(ranks):
    for r in ranks:
        assert bool(r["k.written_after_barrier"])
        for i in range(4):
            np.testing.assert_array_equal(r[f"k.resumed_{i}"], r[f"k.straight_{i}"])
        assert "missing.npz" in str(r["k.missing_msg"]) and "rank 0" in str(r["k.missing_msg"])


def test_distributed_bench_measures_scaling_ceiling_and_averaging(ranks):
    """One round of ``autonn bench --distributed`` on a tiny MLP: every figure is there and the
    derived ones follow from the measured ones (timings themselves are not asserted)."""
    row = ranks[0]
    for key in ("single_ms", "ddp_ms", "no_averaging_ms", "numpy_single_ms", "numpy_pair_ms",
                "average_ms", "raw_allreduce_ms", "raw_allreduce_divide_ms"):
        assert float(row[f"bench.{key}"]) > 0, key
    # one round: the medians are that round's values, so the ratios are theirs
    assert float(row["bench.efficiency"]) == pytest.approx(
        float(row["bench.single_ms"]) / float(row["bench.ddp_ms"]) / 2)
    assert float(row["bench.machine_efficiency"]) == pytest.approx(
        float(row["bench.numpy_single_ms"]) / float(row["bench.numpy_pair_ms"]) / 2)
    assert float(row["bench.ddp_over_no_averaging_ms"]) == pytest.approx(
        float(row["bench.ddp_ms"]) - float(row["bench.no_averaging_ms"]))
    assert int(row["bench.buckets"]) == 1  # 4-8-3 in float32: one shared bucket
    table = str(row["bench.table"])
    assert "machine eff." in table and "tiny" in table and "ovh/+div" in table
    assert "bench.table" not in ranks[1]  # only rank 0 reports


def test_exception_on_one_rank_ends_the_job(tmp_path):
    result, seconds = _launch("fault", tmp_path, timeout=60)
    assert result.returncode != 0
    assert "deliberate failure on rank 1" in result.stderr
    assert "[rank 1] uncaught exception" in result.stderr
    assert "passed the barrier" not in result.stdout
    print(f"fault test: the job ended in {seconds:.2f} s")


def test_ddp_digits_example_on_two_ranks_reaches_the_demos_accuracy():
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""),
               OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    result = subprocess.run([_mpiexec(), "-n", "2", sys.executable, "examples/ddp_digits.py"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(l for l in result.stdout.splitlines() if "held-out accuracy" in l)
    assert line.startswith("2 rank(s)")
    assert float(line.split("accuracy:")[1].split(";")[0]) >= 0.95  # `autonn demo`'s bar


# ----------------------------------------------------------------- one process, world size 1
def test_single_process_is_a_world_of_one():
    from autonn import distributed as dist
    dist.init_process_group()
    assert dist.is_initialized() and dist.get_rank() == 0 and dist.get_world_size() == 1
    model = mpi_cases.equivalence_model()
    ref = mpi_cases.equivalence_model()
    ddp = dist.DistributedDataParallel(model)
    mpi_cases.train_sgd(ddp, model.parameters(), 0, 1, steps=3)
    mpi_cases.train_sgd(ref, ref.parameters(), 0, 1, steps=3)
    for a, b in zip(model.parameters(), ref.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    with pytest.raises(ValueError, match="unknown op"):
        dist.all_reduce(an.ones(2), op="mean")
    with pytest.raises(ValueError, match="src=3"):
        dist.broadcast(an.ones(2), src=3)
    with pytest.raises(TypeError, match="expected an autonn Tensor"):
        dist.all_reduce(np.ones(2))
    with pytest.raises(ValueError, match="backend 'nccl'"):
        dist.init_process_group("nccl")
    with pytest.raises(ValueError, match="mutually exclusive"):
        an.data.DataLoader([1, 2], sampler=[0, 1], shuffle=True)


def test_process_group_calls_before_init_say_so():
    from autonn.distributed import process_group as pg
    saved, pg._group = pg._group, None
    try:
        with pytest.raises(RuntimeError, match="init_process_group"):
            pg.get_rank()
    finally:
        pg._group = saved


def test_import_autonn_does_not_import_mpi():
    code = "import sys, autonn; autonn.nn; autonn.data; print('mpi4py' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=ROOT))
    assert out.stdout.strip() == "False", out.stderr


@pytest.mark.parametrize("name", ["autonn.grad_hooks", "autonn.distributed",
                                  "autonn.distributed.process_group", "autonn.distributed.ddp",
                                  "autonn.distributed.sampler", "autonn.distributed.checkpoint"])
def test_docstring_examples_run(name):
    import doctest
    import importlib
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0 and result.attempted > 0
