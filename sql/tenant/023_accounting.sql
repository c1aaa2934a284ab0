-- Accounting (issue 19): the double-entry ledger of a tenant
-- (handlers/accounting*.c).  Money is DECIMAL(19,4), rates DECIMAL(19,8);
-- never a float.
--
-- _acct_settings: one row (id 1), made on the tenant's first accounting
-- request together with the standard chart; the base currency and the
-- gap-free counters of posted entries, invoices and bills.
CREATE TABLE IF NOT EXISTS _acct_settings (
  id TINYINT NOT NULL PRIMARY KEY,
  base_currency CHAR(3) NOT NULL,
  entry_seq BIGINT NOT NULL DEFAULT 0,
  invoice_seq BIGINT NOT NULL DEFAULT 0,
  bill_seq BIGINT NOT NULL DEFAULT 0,
  created_at DATETIME(3) NOT NULL
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS _acct_currencies (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  code CHAR(3) NOT NULL,
  name VARCHAR(100) NOT NULL,
  symbol VARCHAR(8) NULL,
  decimal_places TINYINT NOT NULL DEFAULT 2,
  is_base TINYINT(1) NOT NULL DEFAULT 0,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY uq_acct_currencies_code (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- The rate for a date is the latest on or before it: 1 from = rate to.
CREATE TABLE IF NOT EXISTS _acct_exchange_rates (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  from_currency CHAR(3) NOT NULL,
  to_currency CHAR(3) NOT NULL,
  rate DECIMAL(19,8) NOT NULL,
  effective_date DATE NOT NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY uq_acct_rates_pair_date (from_currency, to_currency, effective_date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS _acct_accounts (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  code VARCHAR(20) NOT NULL,
  name VARCHAR(200) NOT NULL,
  type VARCHAR(16) NOT NULL,
  sub_type VARCHAR(32) NULL,
  parent_id VARCHAR(40) NULL,
  description VARCHAR(1000) NULL,
  currency CHAR(3) NULL,
  is_active TINYINT(1) NOT NULL DEFAULT 1,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY uq_acct_accounts_code (code),
  KEY ix_acct_accounts_type (type, code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- rate is a percentage (20 = 20 %); account_id the tax account postings
-- of the code go to.
CREATE TABLE IF NOT EXISTS _acct_tax_codes (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  code VARCHAR(20) NOT NULL,
  name VARCHAR(200) NOT NULL,
  rate DECIMAL(19,8) NOT NULL,
  type VARCHAR(16) NOT NULL DEFAULT 'exclusive',
  category VARCHAR(32) NULL,
  account_id VARCHAR(40) NULL,
  is_active TINYINT(1) NOT NULL DEFAULT 1,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY uq_acct_tax_codes_code (code)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

CREATE TABLE IF NOT EXISTS _acct_periods (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  name VARCHAR(100) NOT NULL,
  start_date DATE NOT NULL,
  end_date DATE NOT NULL,
  status VARCHAR(8) NOT NULL DEFAULT 'open',
  closed_at DATETIME(3) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  KEY ix_acct_periods_dates (start_date, end_date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Journal entries: draft (editable), posted (immutable, numbered
-- JE-000001 in posting order), reversed (posted, and undone by the entry
-- reversed_by).  source says what made it (manual, reversal, invoice,
-- payment, bank, recurring) and source_id which row.
CREATE TABLE IF NOT EXISTS _acct_entries (
  id VARCHAR(40) NOT NULL PRIMARY KEY,
  number VARCHAR(20) NULL,
  date DATE NOT NULL,
  description VARCHAR(1000) NULL,
  reference VARCHAR(200) NULL,
  currency CHAR(3) NOT NULL,
  status VARCHAR(10) NOT NULL DEFAULT 'draft',
  source VARCHAR(16) NOT NULL DEFAULT 'manual',
  source_id VARCHAR(40) NULL,
  reversal_of VARCHAR(40) NULL,
  reversed_by VARCHAR(40) NULL,
  total DECIMAL(19,4) NOT NULL DEFAULT 0,
  posted_at DATETIME(3) NULL,
  created_at DATETIME(3) NOT NULL,
  updated_at DATETIME(3) NOT NULL,
  UNIQUE KEY uq_acct_entries_number (number),
  KEY ix_acct_entries_status_date (status, date),
  KEY ix_acct_entries_date (date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Lines: debit and credit in the base currency (one of them zero);
-- amount and currency the original (foreign) amount, exchange_rate what
-- turned it into the base one.  posted and date copy the entry's, so that
-- ledgers read lines alone.
CREATE TABLE IF NOT EXISTS _acct_lines (
  id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY,
  entry_id VARCHAR(40) NOT NULL,
  line_no INT NOT NULL,
  account_id VARCHAR(40) NOT NULL,
  debit DECIMAL(19,4) NOT NULL DEFAULT 0,
  credit DECIMAL(19,4) NOT NULL DEFAULT 0,
  currency CHAR(3) NOT NULL,
  amount DECIMAL(19,4) NOT NULL,
  exchange_rate DECIMAL(19,8) NOT NULL DEFAULT 1,
  description VARCHAR(1000) NULL,
  tax_code_id VARCHAR(40) NULL,
  posted TINYINT(1) NOT NULL DEFAULT 0,
  date DATE NOT NULL,
  KEY ix_acct_lines_entry (entry_id, line_no),
  KEY ix_acct_lines_account (account_id, posted, date),
  KEY ix_acct_lines_tax (tax_code_id, posted, date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;

-- Per account and day, the posted debits and credits, kept in the posting
-- transaction: balances and reports read these, never every line.
CREATE TABLE IF NOT EXISTS _acct_daily (
  account_id VARCHAR(40) NOT NULL,
  date DATE NOT NULL,
  debit DECIMAL(19,4) NOT NULL DEFAULT 0,
  credit DECIMAL(19,4) NOT NULL DEFAULT 0,
  PRIMARY KEY (account_id, date),
  KEY ix_acct_daily_date (date)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci;
