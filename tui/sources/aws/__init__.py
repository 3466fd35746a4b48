"""Logs from AWS: the RDS log-file API and CloudWatch Logs (boto3 is imported only here)."""
