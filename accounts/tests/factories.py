import factory
from allauth.account.models import EmailAddress

from accounts.models import Session, User, token_hash

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    """A seller whose email is confirmed (as every account that can sign in is);
    UserFactory(verified_email=False) makes one that has not confirmed it yet."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"seller{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()

    @factory.post_generation
    def verified_email(obj, create, extracted, **kwargs):
        if create:
            EmailAddress.objects.create(user=obj, email=obj.email, primary=True, verified=extracted is not False)


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Session

    user = factory.SubFactory(UserFactory)
    name = "CLI"
    token = factory.Sequence(lambda n: token_hash(f"access-{n}"))
    refresh_token = factory.Sequence(lambda n: token_hash(f"refresh-{n}"))
    expires_at = factory.Faker("future_datetime", tzinfo=__import__("datetime").timezone.utc)
