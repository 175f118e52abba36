class GradcheckError(AssertionError):
    pass
def gradcheck(*a, **k):
    raise NotImplementedError
