"""The K classes a transaction can be labeled with."""

from django.core.validators import RegexValidator
from django.db import models

from labeler.models import memory


class LabelClass(memory.ForgetOnWrite):
    """One of the K classes (legit, fraud by default); `code` is its value in imported files."""

    name = models.SlugField(max_length=32, unique=True)
    display_name = models.CharField(max_length=64)
    code = models.CharField(
        max_length=32, unique=True, help_text="The value that stands for this class in a CSV file."
    )
    hotkey = models.CharField(
        max_length=1,
        unique=True,
        validators=[RegexValidator(r"^[a-z0-9]$", "A hotkey is one lower-case letter or digit.")],
    )
    colour = models.CharField(
        max_length=7,
        default="#888888",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "A colour is written #rrggbb.")],
    )
    position = models.PositiveSmallIntegerField(
        default=0, help_text="The class index used by the models; 0 is the majority class."
    )
    is_positive = models.BooleanField(
        default=False,
        help_text="The class the loop hunts for (fraud): metrics are computed for it.",
    )

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = "label classes"
        constraints = [
            models.UniqueConstraint(fields=["position"], name="labelclass_position_unique"),
            models.CheckConstraint(
                condition=models.Q(hotkey__regex=r"^[a-z0-9]$"), name="labelclass_hotkey_valid"
            ),
        ]

    def __str__(self):
        return self.display_name

    @classmethod
    def ordered(cls) -> list["LabelClass"]:
        """Every class by position, from memory for `memory.CACHE_SECONDS`: the annotator page
        reads them on every label, and they change about never."""
        return list(memory.remembered(cls, lambda: list(cls.objects.order_by("position"))))

    @classmethod
    def remembered(cls, pk: int | None) -> "LabelClass | None":
        """The class with this id (None for none), from `ordered`'s memory."""
        return next((c for c in cls.ordered() if c.pk == pk), None) if pk is not None else None
