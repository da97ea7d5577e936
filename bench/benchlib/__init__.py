# SPDX-License-Identifier: BSD-2-Clause
"""Helpers of scripts/bench (make bench)."""
