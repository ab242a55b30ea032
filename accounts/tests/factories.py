import factory

from accounts.models import Session, User, token_hash


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"seller{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.PostGenerationMethodCall("set_password", "correct-horse-battery")

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Session

    user = factory.SubFactory(UserFactory)
    name = "CLI"
    token = factory.Sequence(lambda n: token_hash(f"access-{n}"))
    refresh_token = factory.Sequence(lambda n: token_hash(f"refresh-{n}"))
    expires_at = factory.Faker("future_datetime", tzinfo=__import__("datetime").timezone.utc)
