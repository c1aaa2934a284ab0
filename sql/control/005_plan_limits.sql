-- Request rates per plan, per key (or end user) and minute: generous
-- enough that an app's normal traffic never meets them; a key's own
-- rate_limit can set a lower one.
UPDATE plans SET rate_limit_per_minute = 6000 WHERE id = 'free';
UPDATE plans SET rate_limit_per_minute = 30000 WHERE id = 'pro';
UPDATE plans SET rate_limit_per_minute = 1000000 WHERE id = 'enterprise';
