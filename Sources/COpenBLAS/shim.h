#pragma once
#include <cblas.h>
// LAPACK's Fortran entry points (dpotrf_, dpotrs_) that OpenBLAS bundles: the Cholesky
// factorisation of the route tuner's Gaussian process.
#include <f77blas.h>
