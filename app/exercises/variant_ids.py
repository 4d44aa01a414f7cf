"""Variant ids: opaque, deterministic and tamper-proof names for an exercise's variants.

An id is the exercise id and its parameters, signed with the server's secret key
(itsdangerous, its own salt). The same variant always gets the same id, so a shared
or reloaded page finds it again; an id altered by hand, signed by another server, or
for parameters the exercise no longer offers is refused with a 422.
"""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

from app.errors import BadInput
from app.exercises.variants import Params, VariantRecipe, normalized

__all__ = ["UnknownVariant", "VariantIds"]


class UnknownVariant(BadInput):
    """A variant id that this server did not issue for this exercise (or no longer offers)."""


_REFUSED = "That practice variant is not one this exercise offers. Ask for another with “Try another”."


class VariantIds:
    def __init__(self, secret_key: str) -> None:
        self._signer = URLSafeSerializer(secret_key, salt="exercise-variant")

    def issue(self, exercise_id: str, recipe: VariantRecipe, params: Params) -> str:
        values = [_compact(params[p.name]) for p in recipe.parameters]
        return self._signer.dumps([exercise_id, values])

    def read(self, exercise_id: str, recipe: VariantRecipe | None, variant_id: str) -> dict[str, float]:
        """The parameters a variant id names; UnknownVariant (422) if forged or foreign."""
        if recipe is None or not isinstance(variant_id, str) or len(variant_id) > 512:
            raise UnknownVariant(_REFUSED, field="variant")
        try:
            payload = self._signer.loads(variant_id)
        except BadSignature:
            raise UnknownVariant(_REFUSED, field="variant") from None
        if not (
            isinstance(payload, list)
            and len(payload) == 2
            and payload[0] == exercise_id
            and isinstance(payload[1], list)
        ):
            raise UnknownVariant(_REFUSED, field="variant")
        values = payload[1]
        if len(values) != len(recipe.parameters):
            raise UnknownVariant(_REFUSED, field="variant")
        params = {p.name: v for p, v in zip(recipe.parameters, values, strict=True)}
        if not recipe.accepts(params):
            raise UnknownVariant(_REFUSED, field="variant")
        return normalized(params)


def _compact(value: float) -> float | int:
    return int(value) if float(value).is_integer() else float(value)
