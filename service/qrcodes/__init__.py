"""二维码: issuing, revoking, rotating, rendering codes and posters; scans."""
