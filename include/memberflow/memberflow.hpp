#pragma once
// Everything memberflow offers, for users who want one include (like Eigen/Dense).
#include "memberflow/apportion.hpp"
#include "memberflow/datasets.hpp"
#include "memberflow/error.hpp"
#include "memberflow/expected.hpp"
#include "memberflow/forecast.hpp"
#include "memberflow/funnel.hpp"
#include "memberflow/org.hpp"
#include "memberflow/org_io.hpp"
#include "memberflow/pipeline.hpp"
#include "memberflow/scenario.hpp"
#include "memberflow/table.hpp"
