"""The family objects agree with statsmodels' families, draw what they describe, and are the
only way a family name is read: an unknown one is an error wherever it is given."""

import numpy as np
import pytest
import statsmodels.api as sm
from statsmodels.distributions.discrete import zinegbin

from analysis.errors import ConfigError
from analysis.models.batch import fit_batch
from analysis.models.families import CLOGIT, FAMILIES, LOGIT, NB2, POISSON, ZINB, family, names
from analysis.models.spec import CountModelSpec

Y = np.array([0.0, 1.0, 2.0, 5.0, 0.0, 3.0])
ETA = np.array([-1.0, 0.0, 0.5, 1.5, -0.3, 1.0])
ALPHA = 0.7

# (family, statsmodels' family with the same mean, variance and likelihood)
CASES = [
    (POISSON, sm.families.Poisson(), 0.0),
    (NB2, sm.families.NegativeBinomial(alpha=ALPHA), ALPHA),
    (LOGIT, sm.families.Binomial(), 0.0),
]


@pytest.mark.parametrize(("own", "reference", "alpha"), CASES)
def test_mean_variance_likelihood_and_weight_agree_with_statsmodels(own, reference, alpha):
    y = np.minimum(Y, 1.0) if own.binary else Y
    mu = own.mean(ETA)
    np.testing.assert_allclose(mu, reference.link.inverse(ETA), rtol=1e-12)
    np.testing.assert_allclose(own.variance(mu, alpha), reference.variance(mu), rtol=1e-12)
    np.testing.assert_allclose(own.loglik(y, mu, alpha), reference.loglike_obs(y, mu), rtol=1e-10)
    np.testing.assert_allclose(own.weight(mu, alpha), reference.weights(mu), rtol=1e-12)


def test_nb2_at_alpha_zero_is_poisson_and_zinb_adds_structural_zeros():
    mu = POISSON.mean(ETA)
    np.testing.assert_allclose(NB2.loglik(Y, mu, 0.0), POISSON.loglik(Y, mu))
    np.testing.assert_allclose(ZINB.loglik(Y, mu, ALPHA), NB2.loglik(Y, mu, ALPHA))
    expected = zinegbin.logpmf(Y, mu, ALPHA, 2, 0.3)
    np.testing.assert_allclose(ZINB.loglik(Y, mu, ALPHA, inflation=0.3), expected, rtol=1e-10)
    assert ZINB.mean(0.0, inflation=0.3) == pytest.approx(0.7)


@pytest.mark.parametrize(
    ("own", "alpha", "extra"),
    [(POISSON, 0.0, {}), (NB2, ALPHA, {}), (ZINB, ALPHA, {"inflation": 0.25}), (LOGIT, 0.0, {})],
)
def test_draws_have_the_family_mean_and_variance(own, alpha, extra):
    rng = np.random.default_rng(5)
    eta = np.array([-0.5, 0.8])
    mu = own.mean(eta) if own.binary else np.exp(eta)
    draws = own.draw(rng, mu, alpha, size=200_000, **extra)
    assert draws.shape == (200_000, 2)
    mean = own.mean(eta, **extra) if extra else mu
    np.testing.assert_allclose(draws.mean(axis=0), mean, rtol=0.02)
    np.testing.assert_allclose(draws.var(axis=0), own.variance(mu, alpha, **extra), rtol=0.04)


def test_what_each_family_is_called_accepts_and_is_simulated_as():
    assert [f.ratio for f in FAMILIES.values()] == ["IRR", "IRR", "IRR", "OR", "OR"]
    assert names(fixed_effects=False) == ("poisson", "negbin", "zinb")
    assert names(fixed_effects=True) == ("poisson", "logit", "clogit")
    # zinb is simulated (and refitted in batches) as NB2, everywhere: one attribute
    assert ZINB.simulated_as is NB2 and NB2.simulated_as is NB2 and POISSON.simulated_as is POISSON
    assert [f.starts_from for f in (POISSON, NB2, ZINB, LOGIT)] == [None, POISSON, NB2, None]
    assert NB2.boundary is POISSON and ZINB.boundary is None
    assert CLOGIT.conditional and not LOGIT.conditional
    # with fixed effects, an outcome of the other kind (count <-> 0/1) takes the counterpart
    assert [family(f.counterpart).binary for f in (POISSON, LOGIT, CLOGIT)] == [True, False, False]


def test_an_unknown_family_is_an_error_naming_the_known_ones():
    with pytest.raises(ConfigError, match=r"unknown model family 'negbn'; did you mean 'negbin'"):
        family("negbn")
    with pytest.raises(ConfigError, match=r"known families: poisson, negbin, zinb, logit, clogit"):
        CountModelSpec("y", ("x",), family="nb1")
    with pytest.raises(ConfigError, match="incidental parameters"):
        CountModelSpec("y", ("x",), family="negbin", fixed_effects=("unit",), cov="cluster",
                       cluster="unit")  # fmt: skip
    with pytest.raises(ConfigError, match="'logit'.*needs fixed_effects"):
        CountModelSpec("y", ("x",), family="logit")


def test_the_batched_fitter_refuses_a_family_it_cannot_fit_instead_of_fitting_poisson():
    X = np.column_stack([np.ones(6), ETA])
    with pytest.raises(
        ConfigError, match=r"fits the families \['poisson', 'negbin', 'logit'\], not 'zinb'"
    ):
        fit_batch(Y[None], X, family=ZINB)
    assert fit_batch(Y[None], X, family=ZINB.simulated_as).converged[0]
