// (filled by the issue-3 follow-up work)
#include "tests/integration/pods/pods_fixture.h"
