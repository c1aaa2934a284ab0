#!/usr/bin/env node
// Prints the Stripe-Signature header the official `stripe` package makes for
// a payload (read from the file argv[3]) and signing secret (argv[4]), at
// the unix time argv[5] (optional), as Stripe itself signs webhook events.
// argv[2] is the folder the package is installed under (node_modules).
const fs = require('fs');
const path = require('path');
const Stripe = require(path.join(process.argv[2], 'node_modules', 'stripe'));
const stripe = Stripe('sk_test_unused');
const opts = { payload: fs.readFileSync(process.argv[3], 'utf8'), secret: process.argv[4] };
if (process.argv[5]) opts.timestamp = parseInt(process.argv[5], 10);
process.stdout.write(stripe.webhooks.generateTestHeaderString(opts));
