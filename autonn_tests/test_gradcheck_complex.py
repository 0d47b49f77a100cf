"""``an.gradcheck`` on complex inputs and outputs: each complex input is checked as its real and
imaginary parts, each complex output as its real and imaginary parts, in autonn's convention
(HIPS autograd's and JAX's: a vjp maps the cotangent through the Jacobian without conjugation).

Oracles: hand-derived real Jacobians; PyTorch's Jacobian of the same function written on real
views (``torch.autograd.functional.jacobian``); finite differences (the checker's own numeric side,
for the correct ops of the registry); and planted bugs of the kinds complex code gets wrong.
"""
import warnings

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

import autonn as an
from autonn.checking import WIDENED, GradcheckWarning
from autonn.testing.registry import REGISTRY
from autonn_tests._helpers import COMPLEX_SPECS, registered_complex_case

RNG = np.random.default_rng(11)


def _c(shape, scale=1.0, shift=0.0):
    return (RNG.normal(size=shape) + 1j * RNG.normal(size=shape)) * scale + shift


def _blocks(report):
    """{(output part, input part): (analytic, numeric)} of input 0 / output 0 (reverse mode)."""
    return {(p.output_part, p.input_part): (p.analytic_jacobian, p.numeric_jacobian)
            for p in report.inputs[0].pairs if p.output == 0}


# ----- the convention: the real Jacobian every element of which is compared -----
def test_the_real_jacobian_of_z_squared_is_the_hand_derived_one():
    """z**2 = (x^2 - y^2) + i 2xy: d Re/dx = 2x, d Re/dy = -2y, d Im/dx = 2y, d Im/dy = 2x."""
    z0 = np.array([1.0 + 2.0j, -0.5 + 0.25j])
    rep = an.gradcheck_report(lambda t: t * t, (an.tensor(z0, requires_grad=True),),
                              check_forward_ad=True)
    assert rep.passed, rep.message()
    x, y = np.diag(z0.real), np.diag(z0.imag)
    expected = {("real", "real"): 2 * x, ("real", "imag"): -2 * y,
                ("imag", "real"): 2 * y, ("imag", "imag"): 2 * x}
    for mode_pairs in (rep.inputs[0].pairs, rep.forward[0].pairs):
        got = {(p.output_part, p.input_part): p for p in mode_pairs}
        assert set(got) == set(expected)
        for key, block in expected.items():
            np.testing.assert_allclose(got[key].analytic_jacobian, block, rtol=1e-14, atol=1e-14)
            np.testing.assert_allclose(got[key].numeric_jacobian, block, rtol=1e-8, atol=1e-8)


def _torch_real_jacobian(torch_fn, z0):
    """PyTorch's Jacobian of (Re out, Im out) w.r.t. (Re z, Im z), all real: (out, 2, in, 2)."""
    torch = pytest.importorskip("torch")

    def real_fn(xy):
        out = torch_fn(torch.view_as_complex(xy))
        return torch.view_as_real(out) if out.is_complex() else out.unsqueeze(-1)
    xy = torch.view_as_real(torch.tensor(z0)).clone()
    return torch.autograd.functional.jacobian(real_fn, xy).numpy()


TORCH_CASES = {
    "exp": (an.exp, "exp", lambda: _c((3,))),
    "abs_squared": (lambda z: z * an.conj(z), lambda t, z: z * z.conj(), lambda: _c((3,))),
    "abs": (an.abs, "abs", lambda: _c((3,))),
    "angle": (an.angle, "angle", lambda: _c((3,))),
    "mixed": (lambda z: an.exp(an.conj(z)) * an.abs(z) + z * z,
              lambda t, z: t.exp(z.conj()) * z.abs() + z * z, lambda: _c((3,))),
    "fft": (an.fft.fft, lambda t, z: t.fft.fft(z), lambda: _c((4,))),
    "matmul": (lambda z: z.reshape(2, 2) @ an.conj(z.reshape(2, 2)),
               lambda t, z: z.reshape(2, 2) @ z.reshape(2, 2).conj(), lambda: _c((4,))),
}


@pytest.mark.parametrize("name", sorted(TORCH_CASES))
def test_every_real_jacobian_element_matches_pytorchs_jacobian_of_the_real_views(name):
    torch = pytest.importorskip("torch")
    fn, tfn, make = TORCH_CASES[name]
    tfn = (lambda t, z, f=tfn: getattr(t, f)(z)) if isinstance(tfn, str) else tfn
    z0 = make()
    expected = _torch_real_jacobian(lambda z: tfn(torch, z), z0)   # (*out, 2|1, n, 2)
    rep = an.gradcheck_report(fn, (an.tensor(z0, requires_grad=True),), check_forward_ad=True)
    assert rep.passed, rep.message()
    out = fn(an.tensor(z0))
    out_parts = ("real", "imag") if out.dtype.kind == "c" else (None,)
    for pairs in (rep.inputs[0].pairs, rep.forward[0].pairs):
        got = {(p.output_part, p.input_part): p.analytic_jacobian for p in pairs}
        assert set(got) == {(o, i) for o in out_parts for i in ("real", "imag")}
        for a, o_part in enumerate(out_parts):
            for b, i_part in enumerate(("real", "imag")):
                want = expected.reshape(out.shape + (len(out_parts),) + z0.shape + (2,))
                np.testing.assert_allclose(got[(o_part, i_part)], want[..., a, :, b],
                                           rtol=1e-12, atol=1e-12, err_msg=f"{o_part}/{i_part}")


def test_a_real_input_with_a_complex_output_and_the_reverse():
    x0 = RNG.normal(size=5)
    x = an.tensor(x0, requires_grad=True)
    for fast in (False, True):
        assert an.gradcheck(an.fft.rfft, (x,), check_forward_ad=True, fast_mode=fast)
        assert an.gradcheck(lambda z: an.abs(z) ** 3, (an.tensor(_c((4,)), requires_grad=True),),
                            check_forward_ad=True, fast_mode=fast)
    rep = an.gradcheck_report(an.fft.rfft, (x,))
    # rfft: Re out_k = sum_n x_n cos(2 pi k n / N), Im out_k = -sum_n x_n sin(2 pi k n / N)
    k, n = np.arange(3)[:, None], np.arange(5)[None, :]
    blocks = _blocks(rep)
    assert set(blocks) == {("real", None), ("imag", None)}
    np.testing.assert_allclose(blocks[("real", None)][0], np.cos(2 * np.pi * k * n / 5), atol=1e-14)
    np.testing.assert_allclose(blocks[("imag", None)][0], -np.sin(2 * np.pi * k * n / 5), atol=1e-14)
    # irfft: complex in, real out
    assert an.gradcheck(lambda z: an.fft.irfft(z, n=6), (an.tensor(_c((4,)), requires_grad=True),),
                        check_forward_ad=True)


def test_mixed_real_and_complex_inputs_and_outputs():
    x = an.tensor(RNG.normal(size=3), requires_grad=True)
    z = an.tensor(_c((3,)), requires_grad=True)

    def fn(x, z):
        w = an.exp(z) * x
        return w, an.abs(w) + x, an.sum(an.real(w * z))
    rep = an.gradcheck_report(fn, (x, z), check_forward_ad=True)
    assert rep.passed, rep.message()
    parts = {(p.input, p.output, p.input_part, p.output_part) for p in rep.pairs}
    assert parts == {(i, k, ip, op) for i, ips in ((0, (None,)), (1, ("real", "imag")))
                     for k, ops in ((0, ("real", "imag")), (1, (None,)), (2, (None,)))
                     for ip in ips for op in ops}
    assert an.gradgradcheck(fn, (x, z))
    assert an.gradgradcheck(fn, (x, z), fast_mode=True)


def test_complex64_takes_its_finite_differences_in_complex128():
    z = an.tensor(_c((3,)).astype(np.complex64), requires_grad=True)
    rep = an.gradcheck_report(lambda t: an.exp(t) * an.conj(t), (z,))
    assert rep.passed, rep.message()
    assert "evaluated in float64" in rep.step and (rep.atol, rep.rtol) == WIDENED["float32"]
    rep32 = an.gradcheck_report(lambda t: an.exp(t) * an.conj(t), (z,), numeric_dtype=np.float32)
    assert rep32.passed and "evaluated in float32" in rep32.step
    assert an.gradcheck(lambda t: an.log(t), (z,), fast_mode=True)


def test_a_kink_of_abs_at_zero_names_the_part():
    z = an.tensor(np.array([0j, 1 + 1j]), requires_grad=True)
    rep = an.gradcheck_report(an.abs, (z,))
    assert rep.passed
    assert {(k.index, k.part) for k in rep.nondifferentiable} == {((0,), "real"), ((0,), "imag")}
    assert "of input 0 (real part)" in str(rep.nondifferentiable[0]) or \
        "of input 0 (imaginary part)" in str(rep.nondifferentiable[0])


def test_domain_edges_name_the_part():
    # log(z) on a complex input near 0: the step leaves the domain at 0 along the real axis
    z = an.tensor(np.array([1e-7 + 0j], dtype=np.complex128), requires_grad=True)
    rep = an.gradcheck_report(lambda t: an.log(an.real(t)), (z,))
    assert rep.passed, rep.message()
    assert [(d.index, d.part) for d in rep.domain_edges] == [((0,), "real")]


# ----- the correct complex ops of the registry pass -----
@pytest.mark.parametrize("name", COMPLEX_SPECS)
@settings(max_examples=4)
@given(data=st.data())
def test_registered_complex_ops_pass_on_complex_inputs(name, data):
    spec, case, arrays = registered_complex_case(name, data)
    zs = [an.tensor(z, requires_grad=True) for z in arrays]

    def fn(*ts):
        return spec.fn(*ts, **case.kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GradcheckWarning)
        rep = an.gradcheck_report(fn, zs, check_forward_ad=True)
        assert rep.passed, rep.message()
        rep = an.gradcheck_report(fn, zs, fast_mode=True, check_forward_ad=True)
        assert rep.passed, rep.message()


SECOND = [n for n in COMPLEX_SPECS if REGISTRY[n].second_order]

@pytest.mark.parametrize("name", SECOND)
@settings(max_examples=2)
@given(data=st.data())
def test_registered_complex_ops_second_derivatives_pass(name, data):
    spec, case, arrays = registered_complex_case(name, data)
    zs = [an.tensor(z, requires_grad=True) for z in arrays]
    rep = an.gradgradcheck(lambda *ts: spec.fn(*ts, **case.kwargs), zs, report=True)
    assert rep.passed, rep.message()


def test_complex_outputs_of_the_fft_module_pass_directly():
    z = an.tensor(_c((3, 4)), requires_grad=True)
    for fn in (an.fft.fft, an.fft.ifft2, lambda t: an.fft.fftn(t, s=(2, 5))):
        assert an.gradcheck(fn, (z,), check_forward_ad=True)
        assert an.gradcheck(fn, (z,), fast_mode=True, check_forward_ad=True)
    assert an.gradgradcheck(lambda t: an.fft.fft(t) * an.fft.fft(t), (z,))


# ----- planted bugs -----
class TorchStyleExp(an.Function):
    """exp whose backward conjugates the derivative (PyTorch's convention, g * conj(f'(z))):
    right for real inputs, wrong for complex ones in autonn's."""

    @staticmethod
    def forward(ctx, z):
        y = np.exp(z)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, g):
        (y,) = ctx.saved_tensors
        return g * an.conj(y)


class ImagWrongSign(an.Function):
    """imag whose backward has the wrong sign on the imaginary unit (+i g instead of -i g)."""

    @staticmethod
    def forward(ctx, z):
        return np.imag(z).copy()

    @staticmethod
    def backward(ctx, g):
        return g * 1j


class RealSquared(an.Function):
    """Re(z)**2 whose backward forgets to project z onto its real part (2 z g, not 2 Re(z) g)."""

    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return np.real(z) ** 2

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return 2 * z * g


class AbsComplexTangent(an.Function):
    """abs with a right backward, and a jvp that forgets the real part: conj(z) dz / |z| (a
    complex tangent for a real output) instead of Re(conj(z) dz) / |z|."""

    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return np.abs(z)

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return g * an.conj(z) / an.abs(z)

    @staticmethod
    def jvp(ctx, dz):
        (z,) = ctx.saved_tensors
        return an.conj(z) * dz / an.abs(z)


class PhaseOfReal(an.Function):
    """x -> x exp(i x) (a real input, a complex output) whose backward conjugates f'(x)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * np.exp(1j * x)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * an.conj(an.exp(x * 1j) * (1 + x * 1j))


class SquareDetachedImag(an.Function):
    """z**2 whose backward is right in value but detaches the imaginary part of z: its second
    derivative w.r.t. Im z is lost."""

    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return z * z

    @staticmethod
    def backward(ctx, g):
        (z,) = ctx.saved_tensors
        return g * 2 * (an.real(z) + 1j * an.tensor(np.imag(z.data)))


class ConjugatingMul(an.Function):
    """g * c for a constant complex c (used inside another op's backward) whose own backward
    conjugates c: it is wrong only once it is differentiated, i.e. in second derivatives."""

    @staticmethod
    def forward(ctx, g, c):
        ctx.c = c
        return g * c

    @staticmethod
    def backward(ctx, gg):
        return gg * np.conj(ctx.c), None


class ScaleByC(an.Function):
    """z -> c z, right, with a backward that uses ConjugatingMul."""
    C = 0.6 - 1.3j

    @staticmethod
    def forward(ctx, z):
        return z * ScaleByC.C

    @staticmethod
    def backward(ctx, g):
        return ConjugatingMul.apply(g, ScaleByC.C)


def _model(bug):
    def model(z):
        return an.sin(bug.apply(z * 0.5 + 0.1)) * 2
    return model


def _failing(rep):
    return {(p.input_part, p.output_part) for p in rep.pairs if not p.passed}


@pytest.mark.parametrize("fast", [False, True])
def test_a_conjugated_gradient_is_caught_and_blamed(fast):
    z = an.tensor(_c((3,)), requires_grad=True)
    rep = an.gradcheck_report(_model(TorchStyleExp), (z,), fast_mode=fast)
    assert not rep.passed
    assert rep.culprit.name == "TorchStyleExp" and rep.culprit.rule == "vjp"
    assert rep.culprit.part in ("real", "imag")
    message = rep.message()
    assert "culprit: TorchStyleExp" in message and "part)" in message
    # on real inputs the same backward is right (conj is the identity there)
    assert an.gradcheck(_model(TorchStyleExp), (an.tensor(RNG.normal(size=3), requires_grad=True),))
    # forward mode differentiates the backward (double vjp): wrong too
    rep = an.gradcheck_report(_model(TorchStyleExp), (z,), fast_mode=fast, check_forward_ad=True)
    assert not all(p.passed for r in rep.forward for p in r.pairs)


@pytest.mark.parametrize("fast", [False, True])
def test_a_wrong_sign_on_the_imaginary_part_is_caught_and_named(fast):
    z = an.tensor(_c((2, 2)), requires_grad=True)
    rep = an.gradcheck_report(lambda t: ImagWrongSign.apply(t * 2) * 3, (z,), fast_mode=fast)
    assert not rep.passed and rep.culprit.name == "ImagWrongSign"
    # d Im(z)/dx = 0 is right; d Im(z)/dy = 1 comes out as -1
    assert _failing(rep) == {("imag", None)}
    assert rep.inputs[0].worst_part == "imag" and rep.culprit.part == "imag"
    assert "w.r.t. input 0 (imaginary part)" in rep.message()
    bad = next(p for p in rep.pairs if not p.passed)
    np.testing.assert_allclose(bad.analytic_jacobian.reshape(4, 4), -6 * np.eye(4))
    np.testing.assert_allclose(bad.numeric_jacobian.reshape(4, 4), 6 * np.eye(4), rtol=1e-8)
    assert str(rep.culprit).startswith("ImagWrongSign created at ")
    assert "w.r.t. its argument 0 (imaginary part)" in str(rep.culprit)


@pytest.mark.parametrize("fast", [False, True])
def test_a_missing_real_part_projection_is_caught(fast):
    z = an.tensor(_c((3,)), requires_grad=True)
    rep = an.gradcheck_report(_model(RealSquared), (z,), fast_mode=fast)
    assert not rep.passed and rep.culprit.name == "RealSquared" and rep.culprit.part == "imag"
    assert _failing(rep) == {("imag", None)}     # d/dx is right; d/dy should be 0


@pytest.mark.parametrize("fast", [False, True])
def test_a_complex_tangent_for_a_real_output_is_caught_in_forward_mode(fast):
    z = an.tensor(_c((3,)), requires_grad=True)
    rep = an.gradcheck_report(lambda t: AbsComplexTangent.apply(t) * 2, (z,),
                              check_forward_ad=True, fast_mode=fast)
    assert not rep.passed
    assert all(p.passed for r in rep.inputs for p in r.pairs)       # the backward is right
    bad = [p for r in rep.forward for p in r.pairs if not p.passed]
    assert bad and all(p.output_part == "imag" for p in bad)
    assert rep.culprit.name == "AbsComplexTangent" and rep.culprit.rule == "jvp"
    assert "its forward-mode tangent has an imaginary part" in rep.message()


@pytest.mark.parametrize("fast", [False, True])
def test_a_real_input_with_a_complex_output_and_a_conjugated_gradient(fast):
    x = an.tensor(RNG.normal(size=4), requires_grad=True)
    rep = an.gradcheck_report(lambda t: PhaseOfReal.apply(t * 1.5), (x,), fast_mode=fast)
    assert not rep.passed and rep.culprit.name == "PhaseOfReal"
    # the cotangent 1 (the real part's row) gives Re(conj(f')) = Re(f'): right
    assert all(p.passed for p in rep.pairs if p.output_part == "real")
    assert rep.culprit.output_part == "imag"


@pytest.mark.parametrize("fast", [False, True])
def test_second_derivatives_a_detached_imaginary_part(fast):
    z = an.tensor(_c((3,)), requires_grad=True)
    model = _model(SquareDetachedImag)
    assert an.gradcheck(model, (z,), fast_mode=fast, check_forward_ad=True)
    rep = an.gradgradcheck(model, (z,), fast_mode=fast, report=True)
    assert not rep.passed
    assert rep.culprit.name == "SquareDetachedImag" and rep.culprit.rule == "second"
    assert rep.culprit.part == "imag"
    assert "d(its argument 0 (imaginary part))" in str(rep.culprit)
    # only derivatives w.r.t. the imaginary part of input 0 are wrong
    assert {p.input_part for p in rep.pairs if not p.passed and p.input == 0} == {"imag"}


@pytest.mark.parametrize("fast", [False, True])
def test_second_derivatives_a_conjugating_op_inside_a_backward(fast):
    z = an.tensor(_c((3,)), requires_grad=True)
    model = _model(ScaleByC)
    assert an.gradcheck(model, (z,), fast_mode=fast)
    rep = an.gradgradcheck(model, (z,), fast_mode=fast, report=True)
    assert not rep.passed
    assert rep.culprit.name == "ConjugatingMul" and rep.culprit.rule == "vjp"


def test_the_gradient_error_message_names_parts():
    z = an.tensor(_c((2,)), requires_grad=True)
    with pytest.raises(an.GradcheckError) as info:
        an.gradcheck(lambda t: ImagWrongSign.apply(t), (z,))
    message = str(info.value)
    assert "output 0 w.r.t. input 0 (imaginary part) (reverse mode)" in message
    assert "/ d input 0[" in message and "] (imaginary part)" in message
