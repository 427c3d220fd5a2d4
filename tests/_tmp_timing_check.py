import time
from tests.factories import Factory
from app.demo import sample_letter_pdf

def test_t(make):
    t=time.perf_counter(); u=make.applicant(); print("applicant", time.perf_counter()-t)
    t=time.perf_counter(); r=make.round(); print("round", time.perf_counter()-t)
    t=time.perf_counter(); a=make.application(r, u); print("application", time.perf_counter()-t)
    t=time.perf_counter(); sample_letter_pdf(); print("pdf", time.perf_counter()-t)
    t=time.perf_counter(); a=make.application(r, u, submit=True); print("application submit", time.perf_counter()-t)
