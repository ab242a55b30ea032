"""The seller API's monitoring part: alerts (read, acknowledge), background jobs (follow, cancel,
retry) and performance (daily rows per listing or store, the dashboard's figures, CSV where the
pages offer it). Every query starts from the seller; the work is the services'."""

import django_filters
from django.db.models import F
from django.shortcuts import get_object_or_404
from django.urls import path, reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from config.csv_export import csv_response
from config.rest.pagination import Sort
from config.rest.problems import Conflict, QueryValidationError
from config.rest.views import CSVRenderer, SellerAPIView, SellerListView, form_cleaned, job_started, wants_csv
from marketplaces.models import MarketplaceData
from marketplaces.services.performance import PERFORMANCE_CSV_HEADER, performance_csv_cells

from . import analytics, records
from .forms import PeriodForm
from .models import Alert, AlertType, Job, JobStatus, Severity
from .views import JOB_NOT_CANCELLABLE, JOB_NOT_RETRYABLE

MAX_IDS = 500
IDS_NOT_FOUND = "Not among yours: {ids}."
START_AFTER_END = "start must be on or before end."

# --- Jobs -----------------------------------------------------------------------------------


class JobSerializer(serializers.ModelSerializer):
    progress_percent = serializers.IntegerField(read_only=True)
    can_cancel = serializers.SerializerMethodField()
    can_retry = serializers.SerializerMethodField()

    class Meta:
        model = Job
        fields = [
            "id",
            "type",
            "status",
            "progress_done",
            "progress_total",
            "progress_percent",
            "error_message",
            "retry_count",
            "retry_of",
            "created_at",
            "started_at",
            "completed_at",
            "next_retry_at",
            "can_cancel",
            "can_retry",
        ]

    def get_can_cancel(self, job) -> bool:
        return not job.is_finished

    def get_can_retry(self, job) -> bool:
        return records.job_retryable(job)


class JobDetailSerializer(JobSerializer):
    class Meta(JobSerializer.Meta):
        fields = [*JobSerializer.Meta.fields, "result"]


class JobFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=JobStatus.choices)
    type = django_filters.CharFilter()

    class Meta:
        model = Job
        fields = ["status", "type"]


def job_accepted(job) -> Response:
    """202 with the Job a request started (`Location` names it), or 503 when it could not start."""
    job = job_started(job)
    response = Response(JobSerializer(job).data, status=status.HTTP_202_ACCEPTED)
    response["Location"] = reverse("api:job_detail", args=[job.pk])
    return response


class JobQueryMixin:
    model = Job

    def seller_queryset(self, user):
        # A Job's params and result can hold thousands of rows: loaded only where shown.
        return user.jobs.defer("params", "result")

    def get_object(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])


class JobListView(JobQueryMixin, SellerListView):
    serializer_class = JobSerializer
    filterset_class = JobFilter
    ordering_fields = {"created_at": Sort("created_at"), "completed_at": Sort("completed_at", nullable=True)}

    @extend_schema(operation_id="jobs_list", summary="Your background jobs", tags=["jobs"])
    def get(self, request):
        return self.list(request)


class JobDetailView(JobQueryMixin, SellerAPIView):
    serializer_class = JobDetailSerializer

    def seller_queryset(self, user):
        return user.jobs.defer("params")

    @extend_schema(operation_id="jobs_retrieve", summary="One job: status, progress, result", tags=["jobs"])
    def get(self, request, pk):
        return Response(JobDetailSerializer(self.get_object()).data)


class JobCancelView(JobQueryMixin, SellerAPIView):
    problem_statuses = (409,)

    @extend_schema(
        operation_id="jobs_cancel",
        summary="Cancel a job",
        description="A running job stops at its next step.",
        request=None,
        responses=JobSerializer,
        tags=["jobs"],
    )
    def post(self, request, pk):
        job = self.get_object()
        if not records.job_cancel(job):
            raise Conflict(JOB_NOT_CANCELLABLE, code="finished")
        return Response(JobSerializer(job).data)


class JobRetryView(JobQueryMixin, SellerAPIView):
    problem_statuses = (409, 503)

    @extend_schema(
        operation_id="jobs_retry",
        summary="Run a failed or cancelled job again",
        description="As a new job linked to this one (`retry_of`).",
        request=None,
        responses={202: JobSerializer},
        tags=["jobs"],
    )
    def post(self, request, pk):
        job = self.get_object()
        if not records.job_retryable(job):
            raise Conflict(JOB_NOT_RETRYABLE, code="not_retryable")
        return job_accepted(records.job_retry(Job.objects.get(pk=job.pk)))


# --- Alerts ---------------------------------------------------------------------------------


class AlertSerializer(serializers.ModelSerializer):
    class Meta:
        model = Alert
        fields = [
            "id",
            "type",
            "severity",
            "subject",
            "message",
            "data",
            "product",
            "listing",
            "is_read",
            "read_at",
            "acknowledged_at",
            "cleared_at",
            "created_at",
        ]


class AlertFilter(django_filters.FilterSet):
    unread = django_filters.BooleanFilter(method="filter_unread", label="Only unread (true) or only read (false)")
    type = django_filters.ChoiceFilter(choices=AlertType.choices)
    severity = django_filters.ChoiceFilter(choices=Severity.choices)
    state = django_filters.ChoiceFilter(
        choices=[("open", "Open"), ("cleared", "Cleared")], method="filter_state", label="Open or cleared"
    )

    class Meta:
        model = Alert
        fields = ["unread", "type", "severity", "state"]

    def filter_unread(self, queryset, name, value):
        return queryset.filter(is_read=not value)

    def filter_state(self, queryset, name, value):
        return queryset.filter(cleared_at__isnull=value == "open")


class IdsSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), allow_empty=False, max_length=MAX_IDS)


class UpdatedSerializer(serializers.Serializer):
    updated = serializers.IntegerField(help_text="How many changed (the others already were).")


class AlertQueryMixin:
    model = Alert

    def seller_queryset(self, user):
        return user.alerts.all()

    def get_object(self):
        return get_object_or_404(self.get_queryset(), pk=self.kwargs["pk"])


class AlertListView(AlertQueryMixin, SellerListView):
    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    ordering_fields = {"created_at": Sort("created_at")}

    @extend_schema(operation_id="alerts_list", summary="Your alerts", tags=["alerts"])
    def get(self, request):
        return self.list(request)


ALERT_ACTIONS = {"read": records.alerts_mark_read, "acknowledge": records.alerts_acknowledge}


class AlertActionView(AlertQueryMixin, SellerAPIView):
    action = ""
    idempotent = False  # marking read twice is marking read once

    def post(self, request, pk):
        alert = self.get_object()
        ALERT_ACTIONS[self.action](self.get_queryset().filter(pk=alert.pk))
        alert.refresh_from_db()
        return Response(AlertSerializer(alert).data)


class AlertReadView(AlertActionView):
    action = "read"

    @extend_schema(operation_id="alerts_read", summary="Mark an alert read", request=None, responses=AlertSerializer)
    def post(self, request, pk):
        return super().post(request, pk)


class AlertAcknowledgeView(AlertActionView):
    action = "acknowledge"

    @extend_schema(
        operation_id="alerts_acknowledge",
        summary="Acknowledge an alert",
        description="Read and acknowledged: it stays open until its condition clears, and is not raised again.",
        request=None,
        responses=AlertSerializer,
    )
    def post(self, request, pk):
        return super().post(request, pk)


class AlertsBulkView(AlertQueryMixin, SellerAPIView):
    action = ""
    idempotent = False

    def post(self, request):
        body = IdsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        ids = set(body.validated_data["ids"])
        alerts = self.get_queryset().filter(pk__in=ids)
        missing = sorted(ids - set(alerts.values_list("pk", flat=True)))
        if missing:
            raise NotFound(IDS_NOT_FOUND.format(ids=", ".join(map(str, missing))))
        return Response({"updated": ALERT_ACTIONS[self.action](alerts)})


class AlertsReadView(AlertsBulkView):
    action = "read"

    @extend_schema(
        operation_id="alerts_read_many", summary="Mark alerts read", request=IdsSerializer, responses=UpdatedSerializer
    )
    def post(self, request):
        return super().post(request)


class AlertsAcknowledgeView(AlertsBulkView):
    action = "acknowledge"

    @extend_schema(
        operation_id="alerts_acknowledge_many",
        summary="Acknowledge alerts",
        request=IdsSerializer,
        responses=UpdatedSerializer,
    )
    def post(self, request):
        return super().post(request)


for _view in (AlertReadView, AlertAcknowledgeView, AlertsReadView, AlertsAcknowledgeView):
    _view.post = extend_schema(tags=["alerts"])(_view.post)


# --- Performance ----------------------------------------------------------------------------


class PerformanceRowSerializer(serializers.ModelSerializer):
    listing = serializers.IntegerField(source="listing_id")
    store = serializers.IntegerField(source="store_id")
    currency = serializers.CharField(help_text="The store's currency: revenue, costs, fees and profit are in it.")

    class Meta:
        model = MarketplaceData
        fields = [
            "id",
            "listing",
            "store",
            "date",
            "views",
            "clicks",
            "sales",
            "revenue",
            "cost_of_goods_sold",
            "fees",
            "profit",
            "currency",
            "source",
        ]


class PerformanceFilter(django_filters.FilterSet):
    listing = django_filters.NumberFilter(field_name="listing_id", label="One of your listings")
    store = django_filters.NumberFilter(field_name="listing__store_account_id", label="One of your stores")
    start = django_filters.DateFilter(field_name="date", lookup_expr="gte", label="From (YYYY-MM-DD)")
    end = django_filters.DateFilter(field_name="date", lookup_expr="lte", label="To (YYYY-MM-DD)")

    class Meta:
        model = MarketplaceData
        fields = ["listing", "store", "start", "end"]


def performance_rows(user):
    return MarketplaceData.objects.filter(listing__user=user).annotate(
        store_id=F("listing__store_account_id"), currency=F("listing__store_account__currency")
    )


class PerformanceDailyView(SellerListView):
    model = MarketplaceData

    serializer_class = PerformanceRowSerializer
    filterset_class = PerformanceFilter
    renderer_classes = [JSONRenderer, CSVRenderer]
    ordering_fields = {"date": Sort("date")}
    default_ordering = "-date"

    def seller_queryset(self, user):
        return performance_rows(user)

    def _check_scope(self, request):
        """A listing or store that is not the seller's is a 404, as in a path."""
        user, params = request.user, request.query_params
        for name, owned in (("listing", user.listings), ("store", user.store_accounts)):
            value = params.get(name, "")
            if value.isdigit() and not owned.filter(pk=int(value)).exists():
                raise NotFound()
        start, end = params.get("start", ""), params.get("end", "")
        if start and end and start > end:
            raise QueryValidationError({"start": [START_AFTER_END]})

    @extend_schema(
        operation_id="performance_daily",
        summary="Daily performance rows",
        description=(
            "One row per listing and day (views and clicks are null where the marketplace does not report them), "
            "for one listing, one store or all, over a date range. With `Accept: text/csv`, every matching row as "
            "CSV (the listing page's download)."
        ),
        responses={(200, "application/json"): PerformanceRowSerializer(many=True), (200, "text/csv"): OpenApiTypes.STR},
        tags=["performance"],
    )
    def get(self, request):
        self._check_scope(request)
        if wants_csv(request):
            rows = self.filter_queryset(self.get_queryset()).order_by("listing_id", "date")
            cells = ((row.listing_id, row.store_id, *performance_csv_cells(row, row.currency)) for row in rows)
            return csv_response("performance.csv", ["listing_id", "store_id", *PERFORMANCE_CSV_HEADER], cells)
        return self.list(request)


class MetricSerializer(serializers.Serializer):
    name = serializers.CharField()
    label = serializers.CharField()
    kind = serializers.ChoiceField(choices=["money", "units", "percent"])
    current = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True, coerce_to_string=True)
    previous = serializers.DecimalField(max_digits=20, decimal_places=2, allow_null=True, coerce_to_string=True)
    change = serializers.DecimalField(
        max_digits=12, decimal_places=1, allow_null=True, help_text="Percent (percentage points for a percent)."
    )


class SeriesRowSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    revenue = serializers.DecimalField(max_digits=20, decimal_places=2)
    profit = serializers.DecimalField(max_digits=20, decimal_places=2)
    margin = serializers.DecimalField(max_digits=8, decimal_places=1, allow_null=True)
    units = serializers.IntegerField()


class RankedListingSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    title = serializers.CharField()
    revenue = serializers.DecimalField(max_digits=20, decimal_places=2)
    profit = serializers.DecimalField(max_digits=20, decimal_places=2)
    margin = serializers.DecimalField(max_digits=8, decimal_places=1, allow_null=True)
    currency = serializers.CharField(source="shown_currency")
    converted = serializers.BooleanField(help_text="False: no exchange rate, shown in the store's currency.")


class UnconvertedSerializer(serializers.Serializer):
    currency = serializers.CharField()
    revenue = serializers.DecimalField(max_digits=20, decimal_places=2)
    profit = serializers.DecimalField(max_digits=20, decimal_places=2)


class PeriodSerializer(serializers.Serializer):
    start = serializers.DateField()
    end = serializers.DateField()
    granularity = serializers.CharField()


class SummarySerializer(serializers.Serializer):
    period = PeriodSerializer()
    previous_period = PeriodSerializer()
    currency = serializers.CharField(help_text="Your reporting currency: every amount is converted to it.")
    metrics = MetricSerializer(many=True)
    series = SeriesRowSerializer(many=True)
    top_listings = RankedListingSerializer(many=True)
    bottom_listings = RankedListingSerializer(many=True)
    not_converted = UnconvertedSerializer(many=True)
    computed_at = serializers.DateTimeField()


SUMMARY_CSV_HEADER = ["from", "to", "revenue", "profit", "margin_percent", "units_sold", "currency", "not_converted"]


def _period(period) -> dict:
    return {"start": period.start, "end": period.end, "granularity": period.granularity}


class PerformanceSummaryView(SellerAPIView):
    renderer_classes = [JSONRenderer, CSVRenderer]

    @extend_schema(
        operation_id="performance_summary",
        summary="The dashboard's figures for a period",
        description=(
            "Revenue, profit, margin and units against the period before, over time, and the best and worst "
            "listings, in your reporting currency. `period` is 7, 30 or 90 (the last complete days) or `custom` "
            "with `start` and `end`. With `Accept: text/csv`, the series as CSV (the dashboard's download)."
        ),
        parameters=[
            OpenApiParameter("period", OpenApiTypes.STR, enum=["7", "30", "90", "custom"]),
            OpenApiParameter("start", OpenApiTypes.DATE),
            OpenApiParameter("end", OpenApiTypes.DATE),
        ],
        responses={(200, "application/json"): SummarySerializer, (200, "text/csv"): OpenApiTypes.STR},
        tags=["performance"],
    )
    def get(self, request):
        form = PeriodForm(request.query_params or None, today=timezone.localdate())
        if form.is_bound:
            try:
                form_cleaned(form)
            except serializers.ValidationError as exc:
                raise QueryValidationError(exc.detail) from exc
        figures = analytics.dashboard_analytics(user=request.user, period=form.chosen())
        if wants_csv(request):
            excluded = " ".join(item.currency for item in figures.unconverted)
            rows = [
                (row.start, row.end, row.revenue, row.profit, row.margin, row.units, figures.currency, excluded)
                for row in figures.series
            ]
            period = figures.period
            return csv_response(f"revenue-profit-{period.start}-{period.end}.csv", SUMMARY_CSV_HEADER, rows)
        data = {
            "period": _period(figures.period),
            "previous_period": _period(figures.previous),
            "currency": figures.currency,
            "metrics": figures.metrics,
            "series": figures.series,
            "top_listings": figures.top,
            "bottom_listings": figures.bottom,
            "not_converted": figures.unconverted,
            "computed_at": figures.computed_at,
        }
        return Response(SummarySerializer(data).data)


urlpatterns = [
    path("alerts/", AlertListView.as_view(), name="alert_list"),
    path("alerts/read/", AlertsReadView.as_view(), name="alerts_read"),
    path("alerts/acknowledge/", AlertsAcknowledgeView.as_view(), name="alerts_acknowledge"),
    path("alerts/<int:pk>/read/", AlertReadView.as_view(), name="alert_read"),
    path("alerts/<int:pk>/acknowledge/", AlertAcknowledgeView.as_view(), name="alert_acknowledge"),
    path("jobs/", JobListView.as_view(), name="job_list"),
    path("jobs/<int:pk>/", JobDetailView.as_view(), name="job_detail"),
    path("jobs/<int:pk>/cancel/", JobCancelView.as_view(), name="job_cancel"),
    path("jobs/<int:pk>/retry/", JobRetryView.as_view(), name="job_retry"),
    path("performance/daily/", PerformanceDailyView.as_view(), name="performance_daily"),
    path("performance/summary/", PerformanceSummaryView.as_view(), name="performance_summary"),
]
