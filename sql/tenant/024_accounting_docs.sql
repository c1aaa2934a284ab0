-- Accounting documents (issue 19): invoices and bills, payments and their
-- allocations, bank accounts and statement lines, recurring templates.
-- Amounts are DECIMAL(19,4) in the document's currency; the entries they
-- post are in _acct_entries (023).

-- type sales (an invoice, INV-000001) or purchase (a bill, BILL-000001);
-- status draft, approved, partially_paid, paid, void.  Totals are
-- computed by the server from the lines.
CREATE TABLE IF NOT EXISTS _acct_invoices (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  type VARCHAR(10) NOT NULL,
  number VARCHAR(20) NULL,
  contact_name VARCHAR(200) NOT NULL,
  date DATE NOT NULL,
  due_date DATE NOT NULL,
  currency CHAR(3) NOT NULL,
  exchange_rate DECIMAL(19,8) NOT NULL DEFAULT 1,
  status VARCHAR(16) NOT NULL DEFAULT 'draft',
  subtotal DECIMAL(19,4) NOT NULL DEFAULT 0,
  tax_total DECIMAL(19,4) NOT NULL DEFAULT 0,
  total DECIMAL(19,4) NOT NULL DEFAULT 0,
  amount_paid DECIMAL(19,4) NOT NULL DEFAULT 0,
  notes VARCHAR(2000) NULL,
  entry_id VARCHAR(40) NULL,
  void_entry_id VARCHAR(40) NULL,
  approved_at DATETIME(3) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY uq_acct_invoices_number (number),
  KEY ix_acct_invoices_type_status (type, status, due_date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS _acct_invoice_lines (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  invoice_id VARCHAR(40) NOT NULL,
  line_no INT NOT NULL,
  description VARCHAR(1000) NULL,
  quantity DECIMAL(19,4) NOT NULL,
  unit_price DECIMAL(19,4) NOT NULL,
  account_id VARCHAR(40) NOT NULL,
  tax_code_id VARCHAR(40) NULL,
  net_amount DECIMAL(19,4) NOT NULL,
  tax_amount DECIMAL(19,4) NOT NULL DEFAULT 0,
  KEY ix_acct_invoice_lines_invoice (invoice_id, line_no),
  KEY ix_acct_invoice_lines_account (account_id),
  KEY ix_acct_invoice_lines_tax (tax_code_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS _acct_bank_accounts (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  name VARCHAR(200) NOT NULL,
  account_number VARCHAR(64) NULL,
  bank_name VARCHAR(200) NULL,
  currency CHAR(3) NOT NULL,
  gl_account_id VARCHAR(40) NOT NULL,
  is_active TINYINT(1) NOT NULL DEFAULT 1,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  KEY ix_acct_bank_accounts_gl (gl_account_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- type receipt (money in, against receivables) or payment (money out,
-- against payables); unapplied is what no allocation took.
CREATE TABLE IF NOT EXISTS _acct_payments (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  type VARCHAR(10) NOT NULL,
  contact_name VARCHAR(200) NULL,
  date DATE NOT NULL,
  amount DECIMAL(19,4) NOT NULL,
  currency CHAR(3) NOT NULL,
  method VARCHAR(32) NULL,
  bank_account_id VARCHAR(40) NULL,
  reference VARCHAR(200) NULL,
  status VARCHAR(10) NOT NULL DEFAULT 'posted',
  unapplied DECIMAL(19,4) NOT NULL DEFAULT 0,
  entry_id VARCHAR(40) NULL,
  void_entry_id VARCHAR(40) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  KEY ix_acct_payments_type_date (type, date),
  KEY ix_acct_payments_bank (bank_account_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS _acct_allocations (
  payment_id VARCHAR(40) NOT NULL,
  invoice_id VARCHAR(40) NOT NULL,
  amount DECIMAL(19,4) NOT NULL,
  PRIMARY KEY (payment_id, invoice_id),
  KEY ix_acct_allocations_invoice (invoice_id)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Statement lines: amount signed (+ money in), dedupe_key the bank's id
-- or a hash of (date, amount, description); status unmatched, matched,
-- reconciled.
CREATE TABLE IF NOT EXISTS _acct_bank_transactions (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  bank_account_id VARCHAR(40) NOT NULL,
  date DATE NOT NULL,
  description VARCHAR(1000) NULL,
  amount DECIMAL(19,4) NOT NULL,
  external_id VARCHAR(200) NULL,
  dedupe_key VARCHAR(200) NOT NULL,
  status VARCHAR(12) NOT NULL DEFAULT 'unmatched',
  entry_id VARCHAR(40) NULL,
  payment_id VARCHAR(40) NULL,
  reconciled_at DATETIME(3) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY uq_acct_bank_tx_dedupe (bank_account_id, dedupe_key),
  KEY ix_acct_bank_tx_status (bank_account_id, status, date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Recurring templates; _acct_recurring_runs makes each occurrence happen
-- once (the runner and execute insert the run first).
CREATE TABLE IF NOT EXISTS _acct_recurring (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  name VARCHAR(200) NOT NULL,
  type VARCHAR(16) NOT NULL,
  template LONGTEXT NOT NULL CHECK (JSON_VALID(template)),
  frequency VARCHAR(10) NOT NULL,
  next_run DATE NOT NULL,
  end_date DATE NULL,
  anchor_day TINYINT NULL,
  is_active TINYINT(1) NOT NULL DEFAULT 1,
  last_run DATE NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  KEY ix_acct_recurring_next (is_active, next_run)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS _acct_recurring_runs (
  recurring_id VARCHAR(40) NOT NULL,
  run_date DATE NOT NULL,
  created_type VARCHAR(16) NOT NULL,
  created_id VARCHAR(40) NOT NULL,
  created_at DATETIME(3) NOT NULL,
  PRIMARY KEY (recurring_id, run_date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
