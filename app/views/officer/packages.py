"""The round's award package, built by a job, with its progress page, retry and download."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from werkzeug.wrappers import Response

from app.jobs import retry
from app.services import awards as award_svc
from app.services import packages as package_svc
from app.views import roles_required
from app.views.officer.common import bp, package_or_404, round_or_404, stream_file
from forms.award import ButtonForm
from reports.package import package_filename


@bp.post("/rounds/<int:round_id>/package")
@roles_required("officer")
def request_package(round_id: int) -> Response:
    rnd = round_or_404(round_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    package = package_svc.request_package(rnd, current_user)
    return redirect(url_for("officer.package", package_id=package.id))


@bp.get("/packages/<int:package_id>")
@roles_required("officer")
def package(package_id: int) -> str:
    package = package_or_404(package_id)
    job = award_svc.package_job(package)
    return render_template(
        "officer/awards/package.html",
        package=package,
        rnd=package.round,
        job=job,
        running=job is not None and job.status in ("pending", "queued", "running"),
    )


@bp.post("/packages/<int:package_id>/retry")
@roles_required("officer")
def retry_package(package_id: int) -> Response:
    package = package_or_404(package_id)
    if not ButtonForm().validate_on_submit():
        abort(400)
    try:
        retry(package.job_id or 0)
    except ValueError:
        flash("Only a failed build can be retried.", "error")
    else:
        flash("The package is being built again.", "success")
    return redirect(url_for("officer.package", package_id=package.id))


@bp.get("/packages/<int:package_id>/download")
@roles_required("officer")
def download_package(package_id: int) -> Response:
    package = package_or_404(package_id)
    if not package.storage_key:
        abort(404)
    return stream_file(package.storage_key, "application/zip", package_filename(package))
