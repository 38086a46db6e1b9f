#!/bin/bash
# A stand-in for a shell job PM2 ran through bash.
echo "report for $(date -I)"
