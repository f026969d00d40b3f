"""Reports, hot issues and early warning: indicators per period and department, HTML/PDF reports,
hot-issue clustering, surge alerts, exports, and the CDR import behind the answer rate (接通率)."""
