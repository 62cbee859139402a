//! `kaizala export --format parquet` (the `parquet` feature): the sink's
//! typed rows ([`kaizala_sink::RowWriter`]) into Apache Arrow column
//! builders, a [`RecordBatch`] every [`BATCH_ROWS`] rows, written with
//! Arrow's [`ArrowWriter`], snappy-compressed.
//!
//! Each column's Parquet type comes from its declared
//! [`ColumnType`]: times are `TIMESTAMP(MILLIS, UTC-adjusted)`, days
//! `DATE`, flags `BOOLEAN`, integers `INT64`, doubles `DOUBLE`, text and
//! JSON UTF-8 strings, bytes binary — all nullable.

use std::io::Write;
use std::sync::Arc;

use arrow_array::RecordBatch;
use arrow_array::builder::{
    ArrayBuilder, BinaryBuilder, BooleanBuilder, Date32Builder, Float64Builder, Int64Builder,
    StringBuilder, TimestampMillisecondBuilder,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef, TimeUnit};
use kaizala_sink::{ColumnType, ExportColumn, RowWriter, Value};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

/// Rows per record batch (and the writer's row groups are made of them).
pub const BATCH_ROWS: usize = 16_384;

/// A column being filled.
enum Builder {
    Text(StringBuilder),
    Integer(Int64Builder),
    Double(Float64Builder),
    Boolean(BooleanBuilder),
    Timestamp(TimestampMillisecondBuilder),
    Date(Date32Builder),
    Bytes(BinaryBuilder),
}

impl Builder {
    fn new(ty: ColumnType) -> Builder {
        let n = BATCH_ROWS;
        match ty {
            ColumnType::Integer => Builder::Integer(Int64Builder::with_capacity(n)),
            ColumnType::Double => Builder::Double(Float64Builder::with_capacity(n)),
            ColumnType::Boolean => Builder::Boolean(BooleanBuilder::with_capacity(n)),
            ColumnType::Timestamp => Builder::Timestamp(
                TimestampMillisecondBuilder::with_capacity(n).with_timezone("UTC"),
            ),
            ColumnType::Date => Builder::Date(Date32Builder::with_capacity(n)),
            ColumnType::Bytes => Builder::Bytes(BinaryBuilder::with_capacity(n, n * 64)),
            // Text, JSON, and whatever later releases add: UTF-8.
            _ => Builder::Text(StringBuilder::with_capacity(n, n * 32)),
        }
    }

    /// The Arrow type of the column.
    fn data_type(&self) -> DataType {
        match self {
            Builder::Text(_) => DataType::Utf8,
            Builder::Integer(_) => DataType::Int64,
            Builder::Double(_) => DataType::Float64,
            Builder::Boolean(_) => DataType::Boolean,
            Builder::Timestamp(_) => DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())),
            Builder::Date(_) => DataType::Date32,
            Builder::Bytes(_) => DataType::Binary,
        }
    }

    /// Appends `value`; `false` if it is not of the column's type.
    fn append(&mut self, value: &Value<'_>) -> bool {
        match (self, value) {
            (Builder::Text(b), Value::Null) => b.append_null(),
            (Builder::Integer(b), Value::Null) => b.append_null(),
            (Builder::Double(b), Value::Null) => b.append_null(),
            (Builder::Boolean(b), Value::Null) => b.append_null(),
            (Builder::Timestamp(b), Value::Null) => b.append_null(),
            (Builder::Date(b), Value::Null) => b.append_null(),
            (Builder::Bytes(b), Value::Null) => b.append_null(),
            (Builder::Text(b), Value::Text(t)) => b.append_value(t),
            (Builder::Integer(b), Value::Integer(n)) => b.append_value(*n),
            (Builder::Double(b), Value::Double(f)) => b.append_value(*f),
            (Builder::Double(b), Value::Integer(n)) => b.append_value(*n as f64),
            (Builder::Boolean(b), Value::Boolean(f)) => b.append_value(*f),
            (Builder::Timestamp(b), Value::Timestamp(ms)) => b.append_value(*ms),
            (Builder::Date(b), Value::Date(d)) => b.append_value(*d),
            (Builder::Bytes(b), Value::Bytes(bytes)) => b.append_value(bytes),
            _ => return false,
        }
        true
    }

    /// The column so far, leaving the builder empty.
    fn finish(&mut self) -> arrow_array::ArrayRef {
        match self {
            Builder::Text(b) => Arc::new(b.finish()),
            Builder::Integer(b) => Arc::new(b.finish()),
            Builder::Double(b) => Arc::new(b.finish()),
            Builder::Boolean(b) => Arc::new(b.finish()),
            Builder::Timestamp(b) => Arc::new(b.finish()),
            Builder::Date(b) => Arc::new(b.finish()),
            Builder::Bytes(b) => Arc::new(b.finish()),
        }
    }

    fn len(&self) -> usize {
        match self {
            Builder::Text(b) => b.len(),
            Builder::Integer(b) => b.len(),
            Builder::Double(b) => b.len(),
            Builder::Boolean(b) => b.len(),
            Builder::Timestamp(b) => b.len(),
            Builder::Date(b) => b.len(),
            Builder::Bytes(b) => b.len(),
        }
    }
}

/// Writes an export's rows to `out` as one Parquet file: give it to
/// [`kaizala_sink::Sink::export_rows`], then call [`ParquetRows::finish`].
pub struct ParquetRows<W: Write + Send> {
    out: Option<W>,
    writer: Option<ArrowWriter<W>>,
    schema: SchemaRef,
    names: Vec<String>,
    builders: Vec<Builder>,
}

impl<W: Write + Send> ParquetRows<W> {
    /// A writer to `out` (any [`Write`]: a file, standard output).
    pub fn new(out: W) -> ParquetRows<W> {
        ParquetRows {
            out: Some(out),
            writer: None,
            schema: Arc::new(Schema::empty()),
            names: Vec::new(),
            builders: Vec::new(),
        }
    }

    /// Writes the last batch and the file's footer; returns `out`.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.flush_batch()?;
        match self.writer.take() {
            Some(writer) => writer.into_inner().map_err(std::io::Error::other),
            // No columns were given: nothing was exported.
            None => self
                .out
                .take()
                .ok_or_else(|| std::io::Error::other("the Parquet output was already finished")),
        }
    }

    /// Writes the rows built so far as one record batch.
    fn flush_batch(&mut self) -> std::io::Result<()> {
        let Some(writer) = self.writer.as_mut() else {
            return Ok(());
        };
        if self.builders.first().is_none_or(|b| b.len() == 0) {
            return Ok(());
        }
        let columns = self.builders.iter_mut().map(Builder::finish).collect();
        let batch =
            RecordBatch::try_new(self.schema.clone(), columns).map_err(std::io::Error::other)?;
        writer.write(&batch).map_err(parquet_error)
    }
}

/// A Parquet error as an I/O error (what [`RowWriter`] returns), keeping
/// an I/O error's kind (a closed pipe stays a closed pipe).
fn parquet_error(err: parquet::errors::ParquetError) -> std::io::Error {
    match err {
        parquet::errors::ParquetError::External(inner) => {
            match inner.downcast::<std::io::Error>() {
                Ok(io) => *io,
                Err(other) => std::io::Error::other(other),
            }
        }
        other => std::io::Error::other(other),
    }
}

impl<W: Write + Send> RowWriter for ParquetRows<W> {
    fn columns(&mut self, columns: &[ExportColumn]) -> std::io::Result<()> {
        self.builders = columns.iter().map(|c| Builder::new(c.ty())).collect();
        self.names = columns.iter().map(|c| c.name().to_owned()).collect();
        let fields: Vec<Field> = columns
            .iter()
            .zip(&self.builders)
            .map(|(c, b)| Field::new(c.name(), b.data_type(), true))
            .collect();
        self.schema = Arc::new(Schema::new(fields));
        let properties = WriterProperties::builder()
            .set_compression(Compression::SNAPPY)
            .build();
        let out = self
            .out
            .take()
            .ok_or_else(|| std::io::Error::other("the columns were given twice"))?;
        self.writer = Some(
            ArrowWriter::try_new(out, self.schema.clone(), Some(properties))
                .map_err(parquet_error)?,
        );
        Ok(())
    }

    fn row(&mut self, values: &[Value<'_>]) -> std::io::Result<()> {
        for ((builder, value), name) in self.builders.iter_mut().zip(values).zip(&self.names) {
            if !builder.append(value) {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "column {name} is declared {:?} but holds {value:?}",
                        builder.data_type()
                    ),
                ));
            }
        }
        if self.builders.first().is_some_and(|b| b.len() >= BATCH_ROWS) {
            self.flush_batch()?;
        }
        Ok(())
    }
}
